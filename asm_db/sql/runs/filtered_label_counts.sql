-- How many labels pass the filters, by class (the seed's class balance plot).
SELECT label, count(*)
FROM asmdb.filtered_labels(%(min_proportion_inspected)s, %(exclude_mine_types)s::text[],
                           %(min_confidence)s, %(observed_from)s::date,
                           %(observed_to)s::date)
GROUP BY label
ORDER BY label;
