-- One style writer at a time (until the end of its transaction); readers are not blocked.
LOCK TABLE public.layer_styles IN SHARE ROW EXCLUSIVE MODE;
