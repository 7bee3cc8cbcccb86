"""Publishing: QGIS styles and the stored project, roles, exports, plots and the run report."""
