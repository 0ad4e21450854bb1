"""Operations (运维): backups and restores of the whole database."""
