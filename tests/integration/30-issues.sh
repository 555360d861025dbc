#!/usr/bin/env bash
# 30-issues: issues, comments, labels, milestones, assignees, reactions,
# mentions, the timeline and Markdown bodies over the REST API — every
# route, every error (status, code, message), the author / writer / reader
# / outsider / anonymous rules on a public and a private repository, the
# outbox events, and nothing half-written after a refused request.
. "$(dirname "$0")/lib.sh"
start_server
PSQL=(psql -qtAX "host=$PLUE_DATA_DIR/pg dbname=plue user=plue")

ALICE=$(new_user alice)   # owner of alice/pub and alice/priv
WENDY=$(new_user wendy)   # write collaborator on both
RITA=$(new_user rita)     # read collaborator on both
OLLY=$(new_user olly)     # no role: reads the public repository only
RO=$(new_token alice repo:read)

api POST /api/repos "$ALICE" '{"name":"pub"}'
expect_status 201 "create public repo"
api POST /api/repos "$ALICE" '{"name":"priv","private":true}'
expect_status 201 "create private repo"
for r in pub priv; do
	api PUT /api/repos/alice/$r/collaborators/wendy "$ALICE" '{"role":"write"}'
	expect_status 200 "wendy writes $r"
	api PUT /api/repos/alice/$r/collaborators/rita "$ALICE" '{"role":"read"}'
	expect_status 200 "rita reads $r"
done
P=/api/alice/pub
Q=/api/alice/priv

# ---------------------------------------------------------------- labels
api POST $P/labels "$ALICE" '{"name":"bug","color":"#D73A4A","description":"something is broken"}'
expect_status 201 "create label"
expect_json .name bug "label name"
expect_json .color d73a4a "colour normalised"
expect_json .description "something is broken" "label description"
check "label Location" test "$(header Location)" = "$BASE$P/labels/bug"
api POST $P/labels "$WENDY" '{"name":"help wanted"}'
expect_status 201 "writer creates label"
expect_json .color ededed "default colour"
api POST $P/labels "$ALICE" '{"name":"area/ui","color":"00ff00"}'
expect_status 201 "label with a slash"
api POST $P/labels "$ALICE" '{"name":"BUG"}'
expect_error 409 already_exists "label 'BUG' already exists in 'alice/pub'" "duplicate label ignoring case"
api POST $P/labels "$ALICE" '{"name":"  "}'
expect_error 400 invalid_label "label name must be 1 to 50 characters" "blank label"
api POST $P/labels "$ALICE" '{"name":"a,b"}'
expect_error 400 invalid_label "may not contain commas" "comma in label"
api POST $P/labels "$ALICE" "{\"name\":\"$(printf 'l%.0s' $(seq 1 51))\"}"
expect_error 400 invalid_label "1 to 50 characters" "long label"
api POST $P/labels "$ALICE" '{"name":"x","color":"red"}'
expect_error 400 invalid_color "color 'red' is not six hexadecimal digits" "bad colour"
api POST $P/labels "$ALICE" '{"color":"ffffff"}'
expect_error 400 missing_field "field 'name' is required" "label without name"
api POST $P/labels "$RITA" '{"name":"x"}'
expect_error 403 forbidden "write access to repository 'alice/pub' is required" "reader creates label"
api POST $P/labels "$OLLY" '{"name":"x"}'
expect_error 403 forbidden "write access to repository 'alice/pub' is required" "outsider creates label"
api POST $P/labels "" '{"name":"x"}'
expect_error 401 unauthorized "sign in" "anonymous creates label"
api POST $Q/labels "$OLLY" '{"name":"x"}'
expect_error 404 not_found "repository 'alice/priv' not found" "outsider on private repo"
api GET $P/labels
expect_status 200 "list labels"
expect_json .length 3 "three labels"
expect_json .0.name area/ui "sorted by name"
api GET $P/labels/BUG
expect_status 200 "get label ignoring case"
expect_json .name bug "label by name"
api GET $P/labels/area%2Fui
expect_status 200 "label with an escaped slash"
api GET $P/labels/nope
expect_error 404 not_found "label 'nope' not found in 'alice/pub'" "unknown label"
api PATCH $P/labels/help%20wanted "$ALICE" '{"new_name":"help-wanted","color":"008672"}'
expect_status 200 "rename label"
expect_json .name help-wanted "renamed"
expect_json .color 008672 "recoloured"
api PATCH $P/labels/help-wanted "$ALICE" '{"name":"Bug"}'
expect_error 409 already_exists "label 'Bug' already exists" "rename onto another label"
api PATCH $P/labels/help-wanted "$RITA" '{"color":"000000"}'
expect_error 403 forbidden "write access" "reader edits label"
api PATCH $P/labels/nope "$ALICE" '{"color":"000000"}'
expect_error 404 not_found "label 'nope' not found" "edit unknown label"
api POST $P/labels "$ALICE" '{"name":"doomed"}'
expect_status 201 "label to delete later"
api GET $Q/labels "$OLLY"
expect_error 404 not_found "repository 'alice/priv' not found" "outsider lists private labels"
api GET $Q/labels
expect_error 404 not_found "repository 'alice/priv' not found" "anonymous lists private labels"

# ------------------------------------------------------------ milestones
api POST $P/milestones "$ALICE" '{"title":"v1.0","description":"first","due_on":"2027-03-01"}'
expect_status 201 "create milestone"
expect_json .number 1 "milestone number"
expect_json .due_on 2027-03-01 "due date"
expect_json .state open "open"
expect_json .open_issues 0 "no issues yet"
check "milestone Location" test "$(header Location)" = "$BASE$P/milestones/1"
api POST $P/milestones "$WENDY" '{"title":"v2.0","due_on":"2027-06-30T00:00:00Z"}'
expect_status 201 "milestone with a timestamp due date"
expect_json .number 2 "second number"
expect_json .due_on 2027-06-30 "cut to the date"
api POST $P/milestones "$ALICE" '{"title":"V1.0"}'
expect_error 409 already_exists "milestone 'V1.0' already exists in 'alice/pub'" "duplicate milestone"
api POST $P/milestones "$ALICE" '{"title":"x","due_on":"2027-02-30"}'
expect_error 400 invalid_date "due_on '2027-02-30' is not a date (YYYY-MM-DD)" "impossible date"
api POST $P/milestones "$ALICE" '{"title":"x","due_on":"soon"}'
expect_error 400 invalid_date "due_on 'soon' is not a date" "not a date"
api POST $P/milestones "$ALICE" '{"title":"x","state":"done"}'
expect_error 400 invalid_state "state 'done' is not one of open, closed" "bad milestone state"
api POST $P/milestones "$ALICE" '{"title":""}'
expect_error 400 invalid_field "field 'title' must not be empty" "empty milestone title"
api POST $P/milestones "$RITA" '{"title":"x"}'
expect_error 403 forbidden "write access to repository 'alice/pub' is required" "reader creates milestone"
api POST $P/milestones "" '{"title":"x"}'
expect_error 401 unauthorized "sign in" "anonymous creates milestone"
api POST $P/milestones "$ALICE" '{"title":"v3.0"}'
expect_status 201 "third milestone"
expect_json .number 3 "numbers have no gaps after refusals"
api GET $P/milestones/9
expect_error 404 not_found "milestone 9 not found in 'alice/pub'" "unknown milestone"
api GET $P/milestones/abc
expect_error 404 not_found "milestone 'abc' not found" "non-numeric milestone"
api PATCH $P/milestones/3 "$ALICE" '{"state":"closed","description":"done"}'
expect_status 200 "close milestone"
expect_json .state closed "closed"
check "closed_at set" test "$(json .closed_at)" != null
api GET "$P/milestones?state=closed"
expect_json .length 1 "one closed milestone"
api GET "$P/milestones?state=all"
expect_json .length 3 "all milestones"
api GET "$P/milestones?state=gone"
expect_error 400 invalid_filter "state 'gone' is not one of open, closed, all" "bad milestone filter"
api PATCH $P/milestones/3 "$ALICE" '{"state":"open","due_on":null}'
expect_json .state open "reopen milestone"
expect_json .closed_at null "closed_at cleared"
api PATCH $P/milestones/3 "$ALICE" '{"title":"v2.0"}'
expect_error 409 already_exists "milestone 'v2.0' already exists" "rename onto another milestone"
api PATCH $P/milestones/3 "$RITA" '{"title":"x"}'
expect_error 403 forbidden "write access" "reader edits milestone"

# ---------------------------------------------------------------- issues
api POST $P/issues "$ALICE" '{"title":"  First issue  ","body":"It **breaks**.","labels":["BUG","area/ui"],"assignees":["wendy","RITA"],"milestone":1}'
expect_status 201 "owner opens issue"
expect_json .number 1 "first number"
expect_json .title "First issue" "title trimmed"
expect_json .state open "open"
expect_json .author alice "author"
expect_json .labels.0.name area/ui "labels sorted"
expect_json .labels.1.name bug "second label"
expect_json .assignees '["rita","wendy"]' "assignees"
expect_json .milestone.title v1.0 "milestone"
expect_json .body_html "<p>It <strong>breaks</strong>.</p>" "body_html (trailing newline aside)"
expect_json .pull_request false "not a pull request"
expect_json .comments 0 "no comments"
expect_json .reactions.total_count 0 "no reactions"
check "issue Location" test "$(header Location)" = "/api/alice/pub/issues/1"
api POST $P/issues "$OLLY" '{"title":"Outsider report","body":"from olly"}'
expect_status 201 "anyone who can read opens issues"
expect_json .number 2 "second number"
api POST $P/issues "$RITA" '{"title":"Reader report"}'
expect_status 201 "reader opens issue"
expect_json .body "" "empty body"
api POST $Q/issues "$RITA" '{"title":"Private reader report"}'
expect_status 201 "reader opens issue in a private repo"
expect_json .number 1 "numbers are per repository"
api POST $Q/issues "$OLLY" '{"title":"x"}'
expect_error 404 not_found "repository 'alice/priv' not found" "outsider cannot see private repo"
api POST $P/issues "" '{"title":"x"}'
expect_error 401 unauthorized "authentication required" "anonymous opens issue"
api POST $P/issues "$RO" '{"title":"x"}'
expect_error 403 insufficient_scope "lacks the repo:write scope" "read-only token"

# bad input: nothing is written and no number is used up
before=$(sql "select count(*) from issues"); before_ev=$(sql "select count(*) from events")
api POST $P/issues "$ALICE" '{"body":"no title"}'
expect_error 400 missing_field "field 'title' is required" "missing title"
api POST $P/issues "$ALICE" '{"title":"   "}'
expect_error 400 invalid_field "field 'title' must not be empty" "blank title"
api POST $P/issues "$ALICE" '{"title":"a\nb"}'
expect_error 400 invalid_field "must not contain control characters" "newline in title"
api POST $P/issues "$ALICE" "{\"title\":\"$(printf 't%.0s' $(seq 1 257))\"}"
expect_error 400 invalid_field "longer than 256 characters" "long title"
api POST $P/issues "$ALICE" '{"title":7}'
expect_error 400 invalid_field "field 'title' must be a string" "title not a string"
head -c 65537 /dev/zero | tr '\0' 'b' >"$T_DIR/big"
api POST $P/issues "$ALICE" "{\"title\":\"big\",\"body\":\"$(cat "$T_DIR/big")\"}"
expect_error 413 too_large "field 'body' is longer than 65536 characters" "huge body"
api POST $P/issues "$ALICE" '{"title":"x","labels":["bug","nope"]}'
expect_error 400 unknown_label "label 'nope' does not exist" "unknown label"
api POST $P/issues "$ALICE" '{"title":"x","labels":"bug"}'
expect_error 400 invalid_field "field 'labels' must be an array of strings" "labels not an array"
api POST $P/issues "$ALICE" '{"title":"x","assignees":["ghost99"]}'
expect_error 400 unknown_user "user 'ghost99' does not exist" "unknown assignee"
api POST $Q/issues "$ALICE" '{"title":"x","assignees":["olly"]}'
expect_error 400 invalid_assignee "user 'olly' cannot be assigned: they cannot read 'alice/priv'" "assignee without access"
api POST $P/issues "$ALICE" '{"title":"x","milestone":42}'
expect_error 400 unknown_milestone "milestone 42 does not exist" "unknown milestone"
api POST $P/issues "$ALICE" '{"title":"x","milestone":"v1.0"}'
expect_error 400 invalid_field "field 'milestone' must be a milestone number or null" "milestone not a number"
api POST $P/issues "$OLLY" '{"title":"x","labels":["bug"]}'
expect_error 403 forbidden "write access to repository 'alice/pub' is required to set labels" "outsider sets labels"
api POST $P/issues "$RITA" '{"title":"x","assignees":["rita"]}'
expect_error 403 forbidden "is required to assign users" "reader assigns"
api POST $P/issues "$OLLY" '{"title":"x","milestone":1}'
expect_error 403 forbidden "is required to set milestones" "outsider sets milestone"
api POST $P/issues "$ALICE" '{"title":"x"'
expect_error 400 invalid_json "malformed JSON" "malformed JSON"
check "refused requests wrote no issue" test "$(sql "select count(*) from issues")" = "$before"
check "refused requests wrote no event" test "$(sql "select count(*) from events")" = "$before_ev"
api POST $P/issues "$WENDY" '{"title":"100% done_soon","body":"percent and underscore"}'
expect_json .number 4 "the next number follows with no gap"

# reading
api GET $P/issues/1
expect_status 200 "anonymous reads a public issue"
expect_json .title "First issue" "issue title"
check "public issue not publicly cached" test "$(header Cache-Control)" = "no-cache"
api GET $P/issues/999
expect_error 404 not_found "issue 'alice/pub#999' not found" "unknown issue"
api GET $P/issues/abc
expect_error 404 not_found "issue 'alice/pub#abc' not found" "non-numeric issue"
api GET $Q/issues/1
expect_error 404 not_found "repository 'alice/priv' not found" "anonymous reads private issue"
api GET $Q/issues/1 "$OLLY"
expect_error 404 not_found "repository 'alice/priv' not found" "outsider reads private issue"
api GET $Q/issues/1 "$RITA"
expect_status 200 "reader reads private issue"
check "private issue cached privately only" test "$(header Cache-Control)" = "private, no-cache"
api GET /api/alice/nothere/issues
expect_error 404 not_found "repository 'alice/nothere' not found" "unknown repository"

# editing: authors their own, writers anyone's
api PATCH $P/issues/2 "$OLLY" '{"title":"Outsider report (edited)","body":"more detail"}'
expect_status 200 "author edits own issue"
expect_json .title "Outsider report (edited)" "new title"
expect_json .body "more detail" "new body"
api PATCH $P/issues/1 "$OLLY" '{"title":"hijack"}'
expect_error 403 forbidden "only the author or a writer may edit issue 'alice/pub#1'" "outsider edits another's issue"
api PATCH $P/issues/1 "$RITA" '{"state":"closed"}'
expect_error 403 forbidden "only the author or a writer may close or reopen issue 'alice/pub#1'" "reader closes another's issue"
api PATCH $P/issues/1 "" '{"state":"closed"}'
expect_error 401 unauthorized "authentication required" "anonymous edits"
api PATCH $P/issues/2 "$OLLY" '{"state":"closed"}'
expect_status 200 "author closes own issue"
expect_json .state closed "closed"
expect_json .closed_by olly "closed by the author"
check "closed_at set" test "$(json .closed_at)" != null
api PATCH $P/issues/2 "$OLLY" '{"state":"open"}'
expect_json .state open "author reopens own issue"
expect_json .closed_by null "closed_by cleared"
api PATCH $P/issues/2 "$WENDY" '{"state":"closed"}'
expect_status 200 "writer closes another's issue"
expect_json .closed_by wendy "closed by the writer"
api PATCH $P/issues/2 "$OLLY" '{"labels":["bug"]}'
expect_error 403 forbidden "is required to set labels" "author labels own issue"
api PATCH $P/issues/1 "$WENDY" '{"state":"done"}'
expect_error 400 invalid_state "state 'done' is not one of open, closed" "invalid state"
api PATCH $P/issues/1 "$WENDY" '{"title":""}'
expect_error 400 invalid_field "field 'title' must not be empty" "empty title on edit"
api PATCH $P/issues/77 "$WENDY" '{"title":"x"}'
expect_error 404 not_found "issue 'alice/pub#77' not found" "edit unknown issue"
# an edit refused half-way changes nothing
api PATCH $P/issues/1 "$WENDY" '{"title":"Renamed","labels":["nope"]}'
expect_error 400 unknown_label "label 'nope' does not exist" "edit with unknown label"
api GET $P/issues/1
expect_json .title "First issue" "title untouched by the refused edit"
api PATCH $P/issues/1 "$WENDY" '{"title":"First issue, renamed","labels":["bug","help-wanted"],"assignees":["alice"],"milestone":2}'
expect_status 200 "writer edits labels, assignees, milestone and title"
expect_json .title "First issue, renamed" "renamed"
expect_json .labels.length 2 "two labels"
expect_json .labels.1.name help-wanted "label added"
expect_json .assignees '["alice"]' "assignees replaced"
expect_json .milestone.number 2 "milestone changed"
api PATCH $P/issues/1 "$WENDY" '{"milestone":null}'
expect_json .milestone null "milestone cleared"
api PATCH $P/issues/1 "$ALICE" '{"milestone":1}'
expect_json .milestone.number 1 "milestone set again"
api PATCH $Q/issues/1 "$RITA" '{"body":"reader edits own private issue"}'
expect_status 200 "reader edits own issue in a private repo"

# ------------------------------------------------------------ comments
api POST $P/issues/1/comments "$OLLY" '{"body":"I see it too"}'
expect_status 201 "outsider comments"
C1=$(json .id)
expect_json .author olly "comment author"
expect_json .issue_number 1 "comment issue"
expect_json .edited false "not edited"
expect_json .edited_at null "no edited_at"
check "comment Location" test "$(header Location)" = "/api/alice/pub/issues/comments/$C1"
api POST $P/issues/1/comments "$RITA" '{"body":"second"}'
C2=$(json .id)
api POST $P/issues/1/comments "$WENDY" '{"body":"third"}'
C3=$(json .id)
api POST $P/issues/1/comments "" '{"body":"x"}'
expect_error 401 unauthorized "authentication required" "anonymous comments"
api POST $P/issues/1/comments "$OLLY" '{"body":"  \n "}'
expect_error 400 invalid_field "field 'body' must not be empty" "blank comment"
api POST $P/issues/1/comments "$OLLY" '{}'
expect_error 400 missing_field "field 'body' is required" "comment without body"
api POST $P/issues/1/comments "$OLLY" "{\"body\":\"$(cat "$T_DIR/big")\"}"
expect_error 413 too_large "longer than 65536 characters" "huge comment"
api POST $P/issues/99/comments "$OLLY" '{"body":"x"}'
expect_error 404 not_found "issue 'alice/pub#99' not found" "comment on unknown issue"
api POST $Q/issues/1/comments "$OLLY" '{"body":"x"}'
expect_error 404 not_found "repository 'alice/priv' not found" "outsider comments on private issue"
api GET $P/issues/1
expect_json .comments 3 "comment count"
api GET "$P/issues/1/comments?limit=2"
expect_status 200 "list comments"
expect_json .length 2 "first page"
expect_json .0.body "I see it too" "oldest first"
NEXT=$(header X-Next-Cursor)
check "next cursor" test -n "$NEXT"
check "Link header" grep -q 'rel="next"' <<<"$(header Link)"
api GET "$P/issues/1/comments?limit=2&cursor=$NEXT"
expect_json .length 1 "second page"
expect_json .0.body third "last comment"
check "no cursor after the last page" test -z "$(header X-Next-Cursor)"
api GET "$P/issues/1/comments?cursor=garbage!"
expect_error 400 invalid_cursor "cursor 'garbage!' is not valid for this list" "bad cursor"
api GET "$P/issues/1/comments?limit=0"
expect_error 400 invalid_limit "limit '0' is not a number from 1 to 100" "bad limit"
api GET $P/issues/comments/$C1
expect_status 200 "get comment"
expect_json .body "I see it too" "comment body"
api GET $Q/issues/comments/$C1 "$RITA"
expect_error 404 not_found "comment $C1 not found in 'alice/priv'" "comment of another repository"
api GET $P/issues/comments/999999
expect_error 404 not_found "comment 999999 not found in 'alice/pub'" "unknown comment"
api PATCH $P/issues/comments/$C1 "$OLLY" '{"body":"I see it too (edited)"}'
expect_status 200 "author edits comment"
expect_json .edited true "marked edited"
check "edited_at set" test "$(json .edited_at)" != null
api PATCH $P/issues/comments/$C2 "$OLLY" '{"body":"not mine"}'
expect_error 403 forbidden "only the author or a writer may edit comment $C2" "outsider edits another's comment"
api PATCH $P/issues/comments/$C2 "$WENDY" '{"body":"moderated"}'
expect_status 200 "writer edits another's comment"
api PATCH $P/issues/comments/$C3 "$WENDY" '{"body":"third"}'
expect_json .edited false "an unchanged body is not an edit"
api PATCH $P/issues/comments/$C1 "$OLLY" '{"body":""}'
expect_error 400 invalid_field "must not be empty" "empty comment edit"
api PATCH $P/issues/comments/$C1 "" '{"body":"x"}'
expect_error 401 unauthorized "authentication required" "anonymous edits comment"
api DELETE $P/issues/comments/$C3 "$OLLY"
expect_error 403 forbidden "only the author or a writer may delete comment $C3" "outsider deletes another's comment"
api DELETE $P/issues/comments/$C2 "$RITA"
expect_status 204 "author deletes own comment"
api GET $P/issues/comments/$C2
expect_error 404 not_found "comment $C2 not found" "deleted comment is gone"
api DELETE $P/issues/comments/$C2 "$RITA"
expect_error 404 not_found "comment $C2 not found" "delete twice"

# ------------------------------------------------------------ reactions
api POST $P/issues/1/reactions "$OLLY" '{"content":"+1"}'
expect_status 201 "react to issue"
expect_json .content +1 "reaction content"
expect_json .user olly "reaction user"
api POST $P/issues/1/reactions "$OLLY" '{"content":"+1"}'
expect_status 200 "the same reaction twice answers the existing one"
api POST $P/issues/1/reactions "$RITA" '{"content":"+1"}'
api POST $P/issues/1/reactions "$RITA" '{"content":"heart"}'
api POST $P/issues/1/reactions "$OLLY" '{"content":"thumbsup"}'
expect_error 400 invalid_reaction "reaction 'thumbsup' is not one of +1, -1, laugh, hooray, confused, heart, rocket, eyes" "unknown reaction"
api POST $P/issues/1/reactions "" '{"content":"+1"}'
expect_error 401 unauthorized "authentication required" "anonymous reacts"
api GET $P/issues/1
expect_json .reactions.total_count 3 "reaction total"
expect_json '.reactions.+1' 2 "two +1"
expect_json .reactions.heart 1 "one heart"
api GET "$P/issues/1/reactions?content=%2B1"
expect_json .length 2 "list filtered by content"
api DELETE $P/issues/1/reactions/+1 "$OLLY"
expect_status 204 "remove own reaction"
api DELETE $P/issues/1/reactions/+1 "$OLLY"
expect_error 404 not_found "you have no '+1' reaction on issue 'alice/pub#1'" "remove twice"
api DELETE $P/issues/1/reactions/nope "$OLLY"
expect_error 400 invalid_reaction "reaction 'nope' is not one of" "remove unknown content"
api POST $P/issues/comments/$C1/reactions "$WENDY" '{"content":"rocket"}'
expect_status 201 "react to comment"
api GET $P/issues/comments/$C1
expect_json .reactions.rocket 1 "comment reaction counted"
api GET $P/issues/comments/$C1/reactions
expect_json .0.content rocket "comment reactions listed"
api DELETE $P/issues/comments/$C1/reactions/rocket "$WENDY"
expect_status 204 "remove comment reaction"

# -------------------------------------------------------------- mentions
api POST $P/issues "$ALICE" '{"title":"Ping","body":"@wendy and @WENDY and @nobody99, also `@rita` and @alice\n\n```\n@rita\n```"}'
expect_status 201 "issue with mentions"
PING=$(json .number)
api GET /api/user/mentions "$WENDY"
expect_status 200 "wendy's mentions"
expect_json .length 1 "mentioned once despite two spellings"
expect_json .0.repository alice/pub "mention repository"
expect_json .0.issue.number "$PING" "mention issue"
expect_json .0.by alice "mentioned by"
expect_json .0.comment_id null "in the issue body"
api GET /api/user/mentions "$RITA"
expect_json .length 0 "mentions in code are not mentions"
api GET /api/user/mentions "$ALICE"
expect_json .length 0 "mentioning oneself records nothing"
api GET /api/user/mentions ""
expect_error 401 unauthorized "authentication required" "anonymous mentions"
api POST $Q/issues "$ALICE" '{"title":"Secret","body":"@olly cannot read this, @rita can"}'
expect_status 201 "private issue with mentions"
api GET /api/user/mentions "$OLLY"
expect_json .length 0 "users who cannot read the repository are not mentioned"
api GET /api/user/mentions "$RITA"
expect_json .length 1 "reader mentioned in private repo"
expect_json .0.repository alice/priv "private mention"
api POST $P/issues/$PING/comments "$WENDY" '{"body":"thanks @alice, cc @rita"}'
CM=$(json .id)
api GET /api/user/mentions "$ALICE"
expect_json .0.comment_id "$CM" "mention in a comment"
api PATCH $P/issues/comments/$CM "$WENDY" '{"body":"thanks @alice, cc @rita and @olly"}'
api GET /api/user/mentions "$OLLY"
expect_json .length 1 "an edit records the new mention"
api GET /api/user/mentions "$RITA"
expect_json .length 2 "an edit does not repeat old mentions"
api GET "/api/user/mentions?limit=1" "$RITA"
expect_json .length 1 "mentions page"
NEXT=$(header X-Next-Cursor)
api GET "/api/user/mentions?limit=1&cursor=$NEXT" "$RITA"
expect_json .0.repository alice/priv "older mention on the next page"
check "mention events" test "$(sql "select count(*) from events where type = 'mention'")" = 5
check "mention payload names the user" test "$(sql "select count(*) from events where type = 'mention' and payload->>'user' = 'olly' and payload->>'where' = 'comment' and payload->'comment'->>'id' = '$CM'")" = 1

# -------------------------------------------------------------- timeline
api POST $P/issues "$OLLY" '{"title":"Related","body":"see #1 and #999"}'
REL=$(json .number)
api POST $P/issues/$REL/comments "$OLLY" '{"body":"also #1, and `#2` is code"}'
RC=$(json .id)
api GET $P/issues/1/timeline
expect_status 200 "timeline"
events=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).map(e=>e.event).join(","))' <<<"$BODY_OUT")
check "timeline order ($events)" test "$events" = "labeled,labeled,assigned,assigned,milestoned,renamed,unlabeled,labeled,unassigned,unassigned,assigned,demilestoned,milestoned,demilestoned,milestoned,commented,commented,referenced,referenced"
expect_json .0.label.name bug "labeled event names the label"
expect_json .0.actor alice "event actor"
expect_json .5.from "First issue" "renamed from"
expect_json .5.to "First issue, renamed" "renamed to"
expect_json .6.label.name area/ui "unlabeled"
expect_json .10.assignee alice "assigned"
expect_json .15.body "I see it too (edited)" "comments in the timeline"
expect_json .15.edited true "edited comment in the timeline"
expect_json .17.source.number "$REL" "referenced by issue"
expect_json .17.actor olly "referenced by whom"
expect_json .18.comment_id "$RC" "second reference is from a comment"
expect_json .18.source.number "$REL" "of that issue"
api GET $P/issues/2/timeline
kinds=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).map(e=>e.event).join(","))' <<<"$BODY_OUT")
check "close/reopen events ($kinds)" test "$kinds" = "renamed,closed,reopened,closed"
api GET "$P/issues/1/timeline?limit=5"
expect_json .length 5 "timeline page"
NEXT=$(header X-Next-Cursor)
all=""
while [ -n "$NEXT" ]; do
	api GET "$P/issues/1/timeline?limit=5&cursor=$NEXT"
	all="$all$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).map(e=>e.event).join(",")+",")' <<<"$BODY_OUT")"
	NEXT=$(header X-Next-Cursor)
done
check "timeline pages cover the rest ($all)" test "$all" = "renamed,unlabeled,labeled,unassigned,unassigned,assigned,demilestoned,milestoned,demilestoned,milestoned,commented,commented,referenced,referenced,"

# ------------------------------------------------------- list and filters
list() { # list QUERY: prints the issue numbers, comma separated
	api GET "$P/issues?$1" "${2:-}"
	node -e 'const v=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(Array.isArray(v)?v.map(i=>i.number).join(","):"error")' <<<"$BODY_OUT"
}
check "open issues, newest first" test "$(list '')" = "$REL,$PING,4,3,1"
check "closed" test "$(list 'state=closed')" = "2"
check "all" test "$(list 'state=all')" = "$REL,$PING,4,3,2,1"
check "oldest first" test "$(list 'direction=asc&state=all')" = "1,2,3,4,$PING,$REL"
check "by label" test "$(list 'labels=bug')" = "1"
check "by two labels" test "$(list 'labels=BUG,help-wanted')" = "1"
check "labels must all match" test "$(list 'labels=bug,area/ui&state=all')" = ""
check "by assignee" test "$(list 'assignee=alice')" = "1"
check "without assignee" test "$(list 'assignee=none')" = "$REL,$PING,4,3"
check "with any assignee" test "$(list 'assignee=*')" = "1"
check "by creator" test "$(list 'creator=olly&state=all')" = "$REL,2"
check "by author (alias)" test "$(list 'author=OLLY')" = "$REL"
check "by milestone number" test "$(list 'milestone=1')" = "1"
check "by milestone title" test "$(list 'milestone=V1.0')" = "1"
check "without milestone" test "$(list 'milestone=none')" = "$REL,$PING,4,3"
check "free text in title" test "$(list 'q=ping')" = "$PING"
check "free text in body" test "$(list 'q=more%20detail&state=all')" = "2"
check "percent is literal" test "$(list 'q=100%25')" = "4"
check "underscore is literal" test "$(list 'q=e_s')" = "4"
check "no match" test "$(list 'q=zzz_nothing')" = ""
check "issues only" test "$(list 'type=issues')" = "$REL,$PING,4,3,1"
check "pulls only (none yet)" test "$(list 'type=pulls')" = ""
api GET "$P/issues?labels=nope"
expect_error 400 unknown_label "label 'nope' does not exist" "filter by unknown label"
api GET "$P/issues?assignee=ghost99"
expect_error 400 unknown_user "user 'ghost99' does not exist" "filter by unknown assignee"
api GET "$P/issues?creator=ghost99"
expect_error 400 unknown_user "user 'ghost99' does not exist" "filter by unknown creator"
api GET "$P/issues?milestone=v9"
expect_error 400 unknown_milestone "milestone 'v9' does not exist" "filter by unknown milestone"
api GET "$P/issues?state=maybe"
expect_error 400 invalid_filter "state 'maybe' is not one of open, closed, all" "bad state filter"
api GET "$P/issues?sort=votes"
expect_error 400 invalid_filter "sort 'votes' is not one of created, updated" "bad sort"
api GET "$P/issues?direction=up"
expect_error 400 invalid_filter "direction 'up' is not one of asc, desc" "bad direction"
api GET "$P/issues?type=prs"
expect_error 400 invalid_filter "type 'prs' is not one of issues, pulls, all" "bad type"
api GET "$P/issues?limit=101"
expect_error 400 invalid_limit "limit '101' is not a number from 1 to 100" "limit too large"
# pagination walks every issue exactly once
seen=""; cursor=""
while :; do
	api GET "$P/issues?state=all&limit=2${cursor:+&cursor=$cursor}"
	seen="$seen$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).map(i=>i.number).join(",")+",")' <<<"$BODY_OUT")"
	cursor=$(header X-Next-Cursor)
	[ -z "$cursor" ] && break
done
check "paginated walk ($seen)" test "$seen" = "$REL,$PING,4,3,2,1,"
api GET "$P/issues?state=all&limit=2"
c=$(header X-Next-Cursor)
api GET "$P/issues?state=all&limit=2&sort=updated&cursor=$c"
expect_error 400 invalid_cursor "is not valid for this list" "cursor of another ordering"
api POST $P/issues/3/comments "$RITA" '{"body":"bump"}'
check "sorted by update" test "$(list 'sort=updated')" = "3,$REL,$PING,1,4"
api GET $Q/issues "$OLLY"
expect_error 404 not_found "repository 'alice/priv' not found" "outsider lists private issues"
api GET $Q/issues "$RITA"
expect_json .length 2 "reader lists private issues"

# ------------------------------------------------- labels and milestones on issues
api PATCH $P/issues/3 "$ALICE" '{"labels":["doomed"],"milestone":2}'
api GET $P/labels/doomed
expect_json .open_issues 1 "label counts its open issues"
api DELETE $P/labels/doomed "$RITA"
expect_error 403 forbidden "write access" "reader deletes label"
api DELETE $P/labels/doomed "$ALICE"
expect_status 204 "delete label"
api GET $P/issues/3
expect_json .labels '[]' "deleting a label removes it from issues"
api DELETE $P/labels/doomed "$ALICE"
expect_error 404 not_found "label 'doomed' not found" "delete twice"
check "label.deleted event lists the issues" test "$(sql "select payload->>'issues' from events where type = 'label.deleted'")" = "[3]"
api GET $P/milestones/2
expect_json .open_issues 1 "milestone progress: open"
api PATCH $P/issues/3 "$ALICE" '{"state":"closed"}'
api GET $P/milestones/2
expect_json .open_issues 0 "milestone progress: open after close"
expect_json .closed_issues 1 "milestone progress: closed"
api DELETE $P/milestones/2 "$WENDY"
expect_status 204 "delete milestone"
api GET $P/issues/3
expect_json .milestone null "issues lose a deleted milestone"
api DELETE $P/milestones/2 "$WENDY"
expect_error 404 not_found "milestone 2 not found" "delete milestone twice"

# -------------------------------------------------------------- Markdown
api POST $P/issues "$OLLY" '{"title":"XSS","body":"<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(2)>\n\n| a | b |\n|---|---|\n| 1 | ~~2~~ |\n\n- [x] done\n\nsee www.example.com and #1, @wendy"}'
expect_status 201 "issue with hostile Markdown"
XSS=$(json .number)
check "body stored as written" grep -q '<script>alert(1)</script>' <<<"$(json .body)"
html=$(json .body_html)
check "no script tag" test -z "$(grep -i '<script' <<<"$html")"
check "no javascript link" test -z "$(grep -i 'javascript:' <<<"$html")"
check "no img tag" test -z "$(grep -i '<img' <<<"$html")"
check "table rendered" grep -q '<table>' <<<"$html"
check "strikethrough rendered" grep -q '<del>2</del>' <<<"$html"
check "task list rendered" grep -q 'type="checkbox"' <<<"$html"
check "autolink rendered" grep -q 'href="http://www.example.com"' <<<"$html"
check "issue link" grep -q "<a href=\"$BASE/alice/pub/issues/1\">#1</a>" <<<"$html"
check "mention link" grep -q "<a href=\"$BASE/wendy\">@wendy</a>" <<<"$html"
api POST $P/issues/$XSS/comments "$OLLY" '{"body":"@nobody99 and #12345 stay text"}'
check "unknown users and issues are not linked" test -z "$(grep '<a' <<<"$(json .body_html)")"

# ------------------------------------------- who may take part is configurable
api PATCH /api/repos/alice/pub "$ALICE" '{"issues_open_to_readers":false}'
expect_json .issues_open_to_readers false "restrict issues through the API"
api POST $P/issues "$OLLY" '{"title":"x"}'
expect_error 403 issues_restricted "only writers may open issues, comment or react in repository 'alice/pub'" "outsider when restricted"
api POST $P/issues/1/comments "$OLLY" '{"body":"x"}'
expect_error 403 issues_restricted "only writers may" "outsider comments when restricted"
api POST $P/issues/1/reactions "$RITA" '{"content":"eyes"}'
expect_error 403 issues_restricted "only writers may" "reader reacts when restricted"
api PATCH $P/issues/2 "$OLLY" '{"title":"still mine?"}'
expect_error 403 issues_restricted "only writers may" "author edits when restricted"
api POST $P/issues "$WENDY" '{"title":"writers still can"}'
expect_status 201 "writer when restricted"
api GET $P/issues/2 "$OLLY"
expect_status 200 "reading is unaffected"
api PATCH /api/repos/alice/pub "$ALICE" '{"issues_open_to_readers":true}'
expect_status 200 "reopen issues to readers"

# ---------------------------------------------------------------- events
ev() { sql "select count(*) from events where type = '$1' and $2"; }
check "issue.opened" test "$(ev issue.opened "payload->'issue'->>'number' = '1' and payload->'issue'->>'title' = 'First issue' and payload->>'body' = 'It **breaks**.' and payload->'issue'->>'author' = 'alice' and payload->>'sender' = 'alice' and payload->'repository'->>'full_name' = 'alice/pub'")" = 1
check "issue.opened url" test "$(ev issue.opened "payload->'issue'->>'html_url' = '$BASE/alice/pub/issues/1'")" = 1
check "issue.comment" test "$(ev issue.comment "payload->'issue'->>'number' = '1' and payload->'comment'->>'id' = '$C1' and payload->>'body' = 'I see it too' and payload->'comment'->>'author' = 'olly'")" = 1
check "issue.closed" test "$(ev issue.closed "payload->'issue'->>'number' = '2'")" = 2
check "issue.reopened" test "$(ev issue.reopened "payload->'issue'->>'number' = '2' and payload->>'sender' = 'olly'")" = 1
check "issue.edited" test "$(ev issue.edited "payload->'changes'->'title'->>'from' = 'First issue'")" = 1
check "issue.labeled" test "$(ev issue.labeled "payload->'label'->>'name' = 'help-wanted'")" = 1
check "issue.comment.edited" test "$(ev issue.comment.edited "payload->'comment'->>'id' = '$C1'")" = 1
check "issue.comment.deleted" test "$(ev issue.comment.deleted "payload->'comment'->>'id' = '$C2'")" = 1
check "every event has an actor" test "$(sql "select count(*) from events where actor_id is null and type like 'issue%'")" = 0
check "refused writes left no issue behind" test "$(sql "select count(*) from issues i where not exists (select 1 from events e where e.type = 'issue.opened' and (e.payload->'issue'->>'number')::bigint = i.number and e.repo_id = i.repo_id)")" = 0

# ---------------------------------------------------- pull requests as issues
# (a pull request is an issue row with is_pull; its state belongs to /pulls)
api POST $P/issues "$OLLY" '{"title":"will be a pull request"}'
PR=$(json .number)
sql "update issues set is_pull = true where number = $PR and repo_id = (select id from repositories where name = 'pub')" >/dev/null
api PATCH $P/issues/$PR "$ALICE" '{"state":"closed"}'
expect_error 400 pull_request "issue 'alice/pub#$PR' is a pull request: close or reopen it with PATCH /api/alice/pub/pulls/$PR" "pull request state through /issues"
api PATCH $P/issues/$PR "$ALICE" '{"title":"a pull request, renamed","labels":["bug"]}'
expect_status 200 "pull request title and labels through /issues"
expect_json .pull_request true "marked as a pull request"
check "type=pulls" test "$(list 'type=pulls')" = "$PR"
api POST $P/issues/$PR/comments "$RITA" '{"body":"comments work the same"}'
expect_status 201 "comment on a pull request"

# ------------------------------------------------ the role matrix, at a glance
# In fresh repositories: issue A is the reader's (rita), issue B the owner's.
# role      repo  list get open comment editB editA labelB mklabel
MATRIX="
anonymous   mpub  200  200 401  401     401   401   401    401
anonymous   mpriv 404  404 401  401     401   401   401    404
outsider    mpub  200  200 201  201     403   403   403    403
outsider    mpriv 404  404 404  404     404   404   404    404
reader      mpub  200  200 201  201     403   200   403    403
reader      mpriv 200  200 201  201     403   200   403    403
writer      mpub  200  200 201  201     200   200   200    201
writer      mpriv 200  200 201  201     200   200   200    201
owner       mpub  200  200 201  201     200   200   200    201
owner       mpriv 200  200 201  201     200   200   200    201
"
for r in mpub mpriv; do
	priv=false; [ $r = mpriv ] && priv=true
	api POST /api/repos "$ALICE" "{\"name\":\"$r\",\"private\":$priv}"
	api PUT /api/repos/alice/$r/collaborators/wendy "$ALICE" '{"role":"write"}'
	api PUT /api/repos/alice/$r/collaborators/rita "$ALICE" '{"role":"read"}'
	api POST /api/alice/$r/issues "$RITA" '{"title":"A"}'
	expect_json .number 1 "issue A in $r"
	api POST /api/alice/$r/issues "$ALICE" '{"title":"B"}'
	expect_json .number 2 "issue B in $r"
done
declare -A TOK=([anonymous]="" [outsider]="$OLLY" [reader]="$RITA" [writer]="$WENDY" [owner]="$ALICE")
while read -r role repo list get open comment editb edita labelb mklabel; do
	[ -z "$role" ] && continue
	t=${TOK[$role]}; R=/api/alice/$repo
	api GET $R/issues "$t"; expect_status "$list" "$role lists issues in $repo"
	api GET $R/issues/2 "$t"; expect_status "$get" "$role reads an issue in $repo"
	api POST $R/issues "$t" '{"title":"by '"$role"'"}'; expect_status "$open" "$role opens an issue in $repo"
	api POST $R/issues/2/comments "$t" '{"body":"hi"}'; expect_status "$comment" "$role comments in $repo"
	api PATCH $R/issues/2 "$t" '{"body":"B edited by '"$role"'"}'; expect_status "$editb" "$role edits the owner's issue in $repo"
	api PATCH $R/issues/1 "$t" '{"body":"A edited by '"$role"'"}'; expect_status "$edita" "$role edits the reader's issue in $repo"
	api PATCH $R/issues/2 "$t" '{"labels":[]}'; expect_status "$labelb" "$role sets labels in $repo"
	api POST $R/labels "$t" '{"name":"by-'"$role"'"}'; expect_status "$mklabel" "$role creates a label in $repo"
done <<<"$MATRIX"

finish
