"""Statistics that derived standards need (统计数据), entered and corrected in the web: rural per-capita net
income (农民人均纯收入) per county and year, from which the 五保 standard is derived (P7)."""
