"""From imagery to features: reading rasters by tile, the RCF and band-statistics core, runs."""
