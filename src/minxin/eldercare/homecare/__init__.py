"""Government-purchased home care (政府购买居家养老服务, plan P18): providers, orders, entitlements, settlement."""
