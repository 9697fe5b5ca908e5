# Every contact of Globex (needs contacts:read), page by page: the first page, then each page's
# meta.next_cursor until it is null. Prints each page's JSON on a line. A cursor is base64url, so
# it goes into the URL as it is; sed finds it here (with jq: `jq -r .meta.next_cursor`).
# LEADLEX_PER_PAGE: contacts per page, 100 (the most) unless set.
contacts="$LEADLEX_API_URL/api-gateway/v1/companies/c0000000-0000-4000-8000-000000000001/contacts"
query="per_page=${LEADLEX_PER_PAGE:-100}"
while :; do
  page=$(curl -sS --fail-with-body --retry 3 --retry-max-time 60 "$contacts?$query" \
    -H "Authorization: Bearer $LEADLEX_API_KEY") || { echo "$page"; exit 22; }
  echo "$page"
  cursor=$(printf '%s' "$page" | sed -n 's/.*"next_cursor":"\([A-Za-z0-9_-]*\)".*/\1/p')
  [ -n "$cursor" ] || break
  query="per_page=${LEADLEX_PER_PAGE:-100}&cursor=$cursor"
done
