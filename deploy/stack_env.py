"""Print a deploy/stack.env with random secrets (the database password and two API keys)."""

import secrets

password = secrets.token_urlsafe(24)
print("POSTGRES_USER=nhs")
print("POSTGRES_DB=nhs")
print(f"POSTGRES_PASSWORD={password}")
print(f"NHS_ASSISTANT_DATABASE_URL=postgresql://nhs:{password}@db:5432/nhs")
print(
    f"NHS_ASSISTANT_API_KEYS=ask:{secrets.token_urlsafe(24)},admin:{secrets.token_urlsafe(24)}"
)
print("NHS_ASSISTANT_AUDIT_RETENTION_DAYS=30")
