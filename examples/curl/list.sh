# The first page of Globex's contacts (needs contacts:read).
curl -sS -i --fail-with-body --retry 3 --retry-max-time 60 \
  "$LEADLEX_API_URL/api-gateway/v1/companies/c0000000-0000-4000-8000-000000000001/contacts?page=1&per_page=50" \
  -H "Authorization: Bearer $LEADLEX_API_KEY"
