"""Tables, plots, interpretation and output files built from study results."""
