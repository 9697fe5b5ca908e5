# Link two contacts to Globex. -i shows the rate-limit headers; --fail-with-body exits non-zero
# on an error and still prints its envelope; --retry waits out a 429's Retry-After (up to a
# minute) and tries again, which is safe: linking is idempotent.
curl -sS -i --fail-with-body --retry 3 --retry-max-time 60 -X POST \
  "$LEADLEX_API_URL/api-gateway/v1/companies/c0000000-0000-4000-8000-000000000001/contacts/link" \
  -H "Authorization: Bearer $LEADLEX_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{"contact_ids": ["a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"]}'
