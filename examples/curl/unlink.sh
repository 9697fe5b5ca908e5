# Unlink Alan from Globex (contacts linked to another company are left as they are).
curl -sS -i --fail-with-body --retry 3 --retry-max-time 60 -X POST \
  "$LEADLEX_API_URL/api-gateway/v1/companies/c0000000-0000-4000-8000-000000000001/contacts/unlink" \
  -H "Authorization: Bearer $LEADLEX_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{"contact_ids": ["a0000000-0000-4000-8000-000000000002"]}'
