"""Job traces: the job table (table.py), readers for dcsim's columns and the public traces'
(formats.py), and synthetic traces from published statistics (synth.py)."""
