"""The simulation engine: SimPy components of the site and cluster, and the physics they sample."""
