"""asmdb: map artisanal and small-scale mining from satellite features in PostGIS."""

__version__ = "0.1.0"
