"""Many scenarios: expand axes into variants and run them locally or on a Dask cluster."""
