"""Reports: formatted tables, figures, and the HTML and Markdown renderings of a run."""
