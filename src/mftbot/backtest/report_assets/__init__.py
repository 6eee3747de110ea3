"""Building blocks of the offline HTML report: CSS, SVG charts, tables, downsampling.

Everything is written inline (no script, font or stylesheet is fetched), so a report opens the
same on a machine without network.
"""
