"""The dashboard's read models: what the pages and the export show, read with the API's own queries."""
