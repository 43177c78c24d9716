"""cooptrack: monitor intergovernmental economic cooperation programmes."""

__version__ = "0.1.0"
