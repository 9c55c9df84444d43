"""cryptoagg: free public crypto data providers behind one reliable API."""

__version__ = "0.1.0"
