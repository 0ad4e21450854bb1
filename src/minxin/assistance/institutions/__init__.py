"""Care institutions 供养机构 (敬老院, 福利院 …): the pages, the command line and the residents count."""
