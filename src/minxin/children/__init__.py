"""Children in need (孤儿基本生活费): orphans and children in hardship, their guardians and allowance."""
