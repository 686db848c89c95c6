"""Run directories, the run catalog, HTML reports and plots."""
