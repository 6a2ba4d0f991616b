"""Knowledge Hub on 8009 (docs/knowledge.md): collections, ingest of text and Markdown cut
by headings and paragraphs with overlap, BM25 ranking (a known passage first for its
questions), the extractive answer citing the passages it used, deleting a source, feedback
moving a passage by the documented amount, the hashed-embedding hybrid, tenants and
collections apart, bad input (FTS5 syntax in questions included), ingest of a
Document Intelligence document (skipped while 9002 answers 501), and the answer written
by an agent (9007) through the OpenAI-compatible stand-in this file starts (oa_stand.py):
the prompt it received holds the numbered passages, the [n] citations map back to them,
and citations of passages not given are dropped and reported."""

import re

from harness import Server, Skip, assert_json, assert_problem, unique_name
from oa_stand import OpenAIStand

P = 8009
AI = 9007
_STAND = []


def _stand():
    if not _STAND:
        _STAND.append(OpenAIStand({
            "cite": lambda msg: "Payment is due within 30 days of the invoice date [1]. Late fees apply [2, 9]; "
                                "see also [12] and [x].",
        }))
    return _STAND[0]


FIXTURES = {"hashed": lambda: Server(modules="auth,knowledge,gateway",
                                     env={"FLOWMASTER_KNOWLEDGE_EMBEDDINGS": "hash"}),
            "ai": lambda: Server(modules="auth,knowledge,orchestration,gateway",
                                 args=["--config", _stand().config("oa")]),
            "aidefault": lambda: Server(modules="auth,knowledge,orchestration,gateway",
                                        args=["--config", _stand().config("oa")],
                                        env={"FLOWMASTER_KNOWLEDGE_AGENT": "kdefault"})}

CORPUS = [
    ("Billing handbook", "billing.md", """# Billing

## Invoices
Invoices are sent on the first working day of each month by e-mail. Each invoice lists the
licences used in the previous month.

## Payment terms
Payment is due within 30 days of the invoice date. Late payments incur a fee of 2 percent
per month.

## Refunds
A refund is issued to the original payment method within 5 business days after the
cancellation is confirmed.
"""),
    ("Security policy", "security.md", """# Security

## Passwords
Passwords are hashed with argon2id and never stored in clear text. A password must have at
least 10 characters.

## Two-factor authentication
Two-factor authentication with a TOTP app can be switched on in the profile settings.
"""),
    ("Travel rules", "travel.md", """# Travel

Employees book flights through the travel desk. Economy class is the rule for flights under
six hours; business class needs the approval of a director.

Hotel costs are reimbursed up to 150 euros per night with the receipt.
"""),
    ("Onboarding", "onboarding.md", """# Onboarding

New employees receive their laptop on the first day. The IT service desk sets up the
accounts before the start date.

A mentor from the team guides the new colleague through the first three months.
"""),
]

QUESTIONS = [
    ("When is payment due?", "Payment is due within 30 days"),
    ("How long does a refund take?", "refund is issued"),
    ("How are passwords stored?", "argon2id"),
    ("Can I fly business class?", "business class needs the approval"),
    ("What is the hotel limit per night?", "150 euros per night"),
    ("When do new employees get their laptop?", "receive their laptop"),
    ("How do I enable two-factor authentication?", "TOTP app"),
]


def _coll(s, headers=None, name=None):
    name = name or unique_name("kc")
    assert_json(s.req("POST", P, "/knowledge/collections", body={"name": name}, headers=headers), 201)
    return name


def _ingest(s, coll, title, text, source="", headers=None, **kw):
    body = {"title": title, "text": text, "source": source, "collection": coll}
    body.update(kw)
    return assert_json(s.req("POST", P, "/knowledge/ingest", body=body, headers=headers), 201)


def _corpus(s, headers=None):
    coll = _coll(s, headers)
    ids = {t: _ingest(s, coll, t, text, src, headers)["id"] for t, src, text in CORPUS}
    return coll, ids


def _query(s, coll, question, headers=None, **kw):
    body = {"question": question, "collection": coll}
    body.update(kw)
    return assert_json(s.req("POST", P, "/knowledge/query", body=body, headers=headers))


def test_collections_crud(srv):
    name = unique_name("kc")
    r = srv.req("POST", P, "/knowledge/collections", body={"name": name, "description": "handbooks"})
    c = assert_json(r, 201)
    assert r.headers["location"] == "/knowledge/collections/" + name
    assert c["name"] == name and c["description"] == "handbooks" and c["sources"] == 0 and c["chunks"] == 0, c
    assert_problem(srv.req("POST", P, "/knowledge/collections", body={"name": name}), 409)
    _ingest(srv, name, "t", "one paragraph about apples.\n\nanother about pears.")
    got = assert_json(srv.get(P, "/knowledge/collections/" + name))
    assert got["sources"] == 1 and got["chunks"] == 1, got
    up = assert_json(srv.req("PUT", P, "/knowledge/collections/" + name, body={"description": "fruit"}))
    assert up["description"] == "fruit", up
    names = [i["name"] for i in assert_json(srv.get(P, "/knowledge/collections?limit=500"))["items"]]
    assert name in names, names
    assert srv.req("DELETE", P, "/knowledge/collections/" + name).status == 204
    assert_problem(srv.get(P, "/knowledge/collections/" + name), 404)
    assert assert_json(srv.get(P, "/knowledge/sources?collection=" + name))["total"] == 0
    assert_problem(srv.req("DELETE", P, "/knowledge/collections/" + name), 404)
    # ingest names an existing collection; only "default" is made on first use
    assert_problem(srv.req("POST", P, "/knowledge/ingest", body={"title": "t", "text": "x y", "collection": name}),
                   404)
    d = assert_json(srv.req("POST", P, "/knowledge/ingest", body={"title": "t", "text": "default words"}), 201)
    assert d["collection"] == "default", d


def test_chunking_by_headings_paragraphs_and_overlap(srv):
    coll = _coll(srv)
    para = " ".join("Sentence number %d talks about topic %d." % (i, i) for i in range(40))
    text = "# Guide\n\nIntro paragraph.\n\n## Install\n\n" + para + "\n\n## Use\n\nRun it.\n"
    src = _ingest(srv, coll, "Guide", text, chunkSize=300, overlap=60)
    chunks = assert_json(srv.get(P, "/knowledge/sources/%s/chunks?limit=500" % src["id"]))["items"]
    assert src["chunks"] == len(chunks) and [c["position"] for c in chunks] == list(range(len(chunks)))
    assert chunks[0] == {"id": src["id"] + ":0", "sourceId": src["id"], "position": 0, "heading": "Guide",
                         "text": "Intro paragraph."}, chunks[0]
    install = [c for c in chunks if c["heading"] == "Guide > Install"]
    assert len(install) >= 5 and chunks[-1]["heading"] == "Guide > Use" and chunks[-1]["text"] == "Run it."
    for a, b in zip(install, install[1:]):
        assert len(a["text"].encode()) <= 300, a
        # cut after a full stop, and the next chunk repeats the end of this one
        assert a["text"].endswith("."), a["text"]
        assert b["text"].split(" ")[0] in a["text"][-80:], (a["text"][-80:], b["text"][:40])
    joined = " ".join(c["text"] for c in install)
    for i in range(40):
        assert "Sentence number %d talks" % i in joined, i
    # no overlap asked: the pieces add up to the paragraph exactly
    src2 = _ingest(srv, coll, "Guide2", para, chunkSize=300, overlap=0)
    parts = assert_json(srv.get(P, "/knowledge/sources/%s/chunks?limit=500" % src2["id"]))["items"]
    assert " ".join(c["text"] for c in parts) == para


def test_relevant_passage_ranks_first(srv):
    coll, _ = _corpus(srv)
    for q, want in QUESTIONS:
        j = _query(srv, coll, q, k=3)
        assert j["passages"], (q, j)
        top = j["passages"][0]
        assert want in top["text"], (q, [p["text"][:60] for p in j["passages"]])
        assert set(top) >= {"id", "text", "source", "title", "position", "score", "heading"}, top
        scores = [p["score"] for p in j["passages"]]
        assert scores == sorted(scores, reverse=True) and scores[0] == 1.0, scores
        assert len(j["passages"]) <= 3 and j["ranking"] == "bm25"


def test_answer_cites_the_passages_it_used(srv):
    coll, _ = _corpus(srv)
    for q, want in QUESTIONS[:4]:
        j = _query(srv, coll, q)
        assert j["answerProvider"] == "local" and want in j["answer"], (q, j["answer"])
        marks = [int(m) for m in re.findall(r"\[(\d+)\]", j["answer"])]
        assert marks and marks[0] == 1, j["answer"]
        cited = {c["n"]: c for c in j["citations"]}
        assert set(marks) == set(cited), (marks, j["citations"])
        for n, c in cited.items():
            p = j["passages"][n - 1]
            assert c["passageId"] == p["id"] and c["title"] == p["title"] and c["position"] == p["position"], c
        # each sentence of the answer comes from the passage its number names
        for sentence, n in re.findall(r"\s*(.+?) \[(\d+)\]", j["answer"]):
            assert sentence.rstrip(".") in j["passages"][int(n) - 1]["text"].replace("\n", " "), (sentence, n)
    j = _query(srv, coll, "zebra quantum")
    assert j["passages"] == [] and j["answer"] == "" and j["citations"] == [], j


def test_delete_removes_passages(srv):
    coll, ids = _corpus(srv)
    sid = ids["Security policy"]
    assert "argon2id" in _query(srv, coll, "How are passwords stored?")["passages"][0]["text"]
    assert srv.req("DELETE", P, "/knowledge/sources/" + sid).status == 204
    j = _query(srv, coll, "How are passwords stored? argon2id TOTP")
    assert all(p["sourceId"] != sid for p in j["passages"]), j
    assert_problem(srv.get(P, "/knowledge/sources/" + sid), 404)
    assert_problem(srv.get(P, "/knowledge/sources/%s/chunks" % sid), 404)
    assert_problem(srv.req("DELETE", P, "/knowledge/sources/" + sid), 404)
    listed = assert_json(srv.get(P, "/knowledge/sources?collection=" + coll))
    assert listed["total"] == 3 and sid not in [s["id"] for s in listed["items"]], listed
    # the others still answer
    assert "30 days" in _query(srv, coll, "When is payment due?")["passages"][0]["text"]


def test_feedback_moves_a_passage_by_the_documented_amount(srv):
    coll, _ = _corpus(srv)
    q = "invoice payment month"      # terms: invoice, payment, month
    before = _query(srv, coll, q, k=5)
    assert before["terms"] == ["invoice", "payment", "month"], before["terms"]
    first, second = before["passages"][0], before["passages"][1]
    # one helpful vote on the second: +0.25 x (3 of 3 terms) / 3 terms = +0.25
    v = assert_json(srv.req("POST", P, "/api/v1/feedback", body={
        "question": q, "passageId": second["id"], "helpful": True}), 201)
    assert v["passageId"] == second["id"] and v["helpful"] is True and v["terms"] == ["invoice", "payment", "month"]
    after = {p["id"]: p["score"] for p in _query(srv, coll, q, k=5)["passages"]}
    assert abs(after[second["id"]] - (second["score"] + 0.25)) < 1e-5, (second, after)
    assert abs(after[first["id"]] - first["score"]) < 1e-5
    # not helpful on the first: -0.25; now the second ranks first
    assert_json(srv.req("POST", P, "/api/v1/feedback", body={
        "question": q, "chunk": first["id"], "helpful": False,
        "correctedAnswer": "Payment is due within 30 days."}), 201)
    nowj = _query(srv, coll, q, k=5)
    now = nowj["passages"]
    assert now[0]["id"] == second["id"], [(p["id"], p["score"]) for p in now]
    # the corrected answer comes back with questions of the same terms, in any order and case
    assert [c["answer"] for c in nowj["corrections"]] == ["Payment is due within 30 days."], nowj["corrections"]
    assert nowj["corrections"][0]["passageId"] == first["id"]
    again = _query(srv, coll, "Month, PAYMENT and the invoice?")
    assert [c["answer"] for c in again["corrections"]] == ["Payment is due within 30 days."], again
    assert _query(srv, coll, "invoice payment")["corrections"] == []
    assert _query(srv, _coll(srv), q)["corrections"] == []
    assert abs({p["id"]: p["score"] for p in now}[first["id"]] - (first["score"] - 0.25)) < 1e-5
    # an unrelated question is untouched
    assert "argon2id" in _query(srv, coll, "How are passwords stored?")["passages"][0]["text"]
    fb = assert_json(srv.get(P, "/api/v1/feedback?collection=" + coll))
    assert fb["total"] == 2 and fb["items"][1]["correctedAnswer"] == "Payment is due within 30 days.", fb


def test_feedback_for_a_similar_question_is_partial(srv):
    coll, _ = _corpus(srv)
    q = "payment month"
    before = {p["id"]: p["score"] for p in _query(srv, coll, q, k=10)["passages"]}
    target = sorted(before, key=before.get)[0]           # the weakest passage
    assert_json(srv.req("POST", P, "/api/v1/feedback", body={
        "question": "late payment fee", "passageId": target, "helpful": True}), 201)
    # "payment month" shares "payment" with the vote: +0.25 x 1 / 2 terms
    after = {p["id"]: p["score"] for p in _query(srv, coll, q, k=10)["passages"]}
    assert abs(after[target] - (before[target] + 0.125)) < 1e-5, (before[target], after[target])


def test_tenants_and_collections_apart(srv):
    coll, ids = _corpus(srv)
    other = srv.tenant_headers("knowledgeb")
    # the other tenant does not see the collection, its sources or passages
    assert_problem(srv.req("GET", P, "/knowledge/collections/" + coll, headers=other), 404)
    assert_problem(srv.req("POST", P, "/knowledge/query", headers=other,
                           body={"question": "payment", "collection": coll}), 404)
    j = assert_json(srv.req("POST", P, "/knowledge/query", headers=other, body={"question": "payment refund"}))
    assert j["passages"] == [], j
    sid = ids["Billing handbook"]
    assert_problem(srv.req("GET", P, "/knowledge/sources/" + sid, headers=other), 404)
    assert_problem(srv.req("DELETE", P, "/knowledge/sources/" + sid, headers=other), 404)
    assert_problem(srv.req("POST", P, "/api/v1/feedback", headers=other, body={
        "question": "payment", "passageId": sid + ":0", "helpful": False}), 404)
    assert assert_json(srv.get(P, "/api/v1/feedback", headers=other))["total"] == 0
    # the same collection name in the other tenant is its own
    _coll(srv, other, name=coll)
    _ingest(srv, coll, "B", "Payment in tenant B is due at once.", headers=other)
    jb = _query(srv, coll, "When is payment due?", headers=other)
    assert [p["title"] for p in jb["passages"]] == ["B"], jb
    ja = _query(srv, coll, "When is payment due?")
    assert "B" not in [p["title"] for p in ja["passages"]] and "30 days" in ja["passages"][0]["text"]
    # collections of one tenant apart, and all of them without a collection
    c2 = _coll(srv)
    _ingest(srv, c2, "Other", "Payment of expenses is due on Fridays.")
    assert all(p["collection"] == coll for p in _query(srv, coll, "payment due", k=50)["passages"])
    assert [p["title"] for p in _query(srv, c2, "payment due")["passages"]] == ["Other"]
    allc = assert_json(srv.req("POST", P, "/knowledge/query", body={"question": "payment due Fridays", "k": 50}))
    assert {coll, c2} <= {p["collection"] for p in allc["passages"]}
    assert "B" not in [p["title"] for p in allc["passages"]]
    # filters narrow to one source
    f = _query(srv, coll, "payment days", filters={"sourceId": sid}, k=50)
    assert f["passages"] and all(p["sourceId"] == sid for p in f["passages"]), f
    f = _query(srv, coll, "employees", filters={"source": "travel.md"}, k=50)
    assert f["passages"] and all(p["source"] == "travel.md" for p in f["passages"]), f


def test_bad_input(srv):
    coll, _ = _corpus(srv)
    before = assert_json(srv.get(P, "/knowledge/sources?collection=" + coll))["total"]
    for body, field in (({"title": "t", "text": "", "collection": coll}, "/text"),
                        ({"title": "t", "text": "  \n\t ", "collection": coll}, "/text"),
                        ({"title": "t", "collection": coll}, "/text"),
                        ({"title": "t", "text": 5, "collection": coll}, "/text"),
                        ({"title": "", "text": "x", "collection": coll}, "/title"),
                        ({"title": "t", "text": "x", "collection": "a/b"}, "/collection"),
                        ({"title": "t", "text": "x", "chunkSize": 10}, "/chunkSize"),
                        ({"title": "t", "text": "x", "chunkSize": 400, "overlap": 200}, "/overlap"),
                        ({"text": "x", "documentId": "d1"}, "/documentId")):
        p = assert_problem(srv.req("POST", P, "/knowledge/ingest", body=body), 422)
        assert p["errors"][0]["pointer"] == field, (body, p)
    # over the body limit (1 MiB): 413 before anything is read
    big = "word " * 220000
    assert_problem(srv.req("POST", P, "/knowledge/ingest", body={"title": "t", "text": big, "collection": coll}), 413)
    assert assert_json(srv.get(P, "/knowledge/sources?collection=" + coll))["total"] == before
    for k in (0, 51, -1, "5", 2.5e10):
        p = assert_problem(srv.req("POST", P, "/knowledge/query", body={"question": "payment", "k": k}), 422)
        assert p["errors"][0]["pointer"] == "/k", p
    for body in ({"question": ""}, {}, {"question": "x" * 2001}, {"question": "payment", "filters": {"x": 1}},
                 {"question": "payment", "filters": []}):
        assert_problem(srv.req("POST", P, "/knowledge/query", body=body), 422)
    assert_problem(srv.req("POST", P, "/knowledge/query", body={"question": "x", "collection": "nope-" + coll}), 404)
    # FTS5 syntax in a question is only words to us
    for q in ('"', 'payment"', "payment AND", "NEAR(payment refund, 2)", "pay*", "^payment", "payment:due",
              "{text}: payment", "payment OR", "(payment", "NOT payment", "-payment +due", "' OR 1=1 --",
              "payment\u00e9 r\u00e9sum\u00e9 \u2014 \u201cquoted\u201d", "the of and", "..."):
        j = assert_json(srv.req("POST", P, "/knowledge/query", body={"question": q, "collection": coll}))
        assert isinstance(j["passages"], list), (q, j)
    j = _query(srv, coll, 'NEAR("payment" due) AND refund*')
    assert j["passages"] and j["terms"] == ["near", "payment", "due", "refund"], j
    # feedback
    for body, field in (({"question": "q", "helpful": True}, "/passageId"),
                        ({"question": "payment", "passageId": "nocolon", "helpful": True}, "/passageId"),
                        ({"question": "payment", "passageId": "x:-1", "helpful": True}, "/passageId"),
                        ({"question": "payment", "passageId": "x:1"}, "/helpful"),
                        ({"question": "the of", "passageId": "x:1", "helpful": True}, "/question")):
        p = assert_problem(srv.req("POST", P, "/api/v1/feedback", body=body), 422)
        assert p["errors"][0]["pointer"] == field, (body, p)
    assert_problem(srv.req("POST", P, "/api/v1/feedback", body={
        "question": "payment", "passageId": "ksrc_nothing:0", "helpful": True}), 404)


def test_hybrid_ranking_with_hashed_embeddings(hashed):
    coll, ids = _corpus(hashed)
    for q, want in QUESTIONS:
        j = _query(hashed, coll, q, k=3)
        assert j["ranking"] == "bm25+hash-embeddings", j
        assert want in j["passages"][0]["text"], (q, [p["text"][:50] for p in j["passages"]])
        assert all(0 < p["score"] <= 1.0 + 1e-9 for p in j["passages"]), j["passages"]
    # vectors go with their source; other tenants' vectors never rank
    sid = ids["Security policy"]
    assert hashed.req("DELETE", P, "/knowledge/sources/" + sid).status == 204
    j = _query(hashed, coll, "How are passwords stored with argon2id?", k=50)
    assert j["passages"] and all(p["sourceId"] != sid for p in j["passages"]), j
    other = hashed.tenant_headers("knowledgeh")
    j = assert_json(hashed.req("POST", P, "/knowledge/query", headers=other,
                               body={"question": "When is payment due?", "k": 50}))
    assert j["passages"] == [], j


def test_ingest_a_document_from_document_intelligence(srv):
    r = srv.req("POST", P, "/knowledge/ingest", body={"documentId": "doc_none_here"})
    if r.status == 501:
        p = assert_problem(r, 501)
        assert "Document Intelligence (9002)" in p["detail"] and "text" in p["detail"], p
        raise Skip("Document Intelligence (9002) does not serve GET /documents/{id}/text in this tree yet")
    assert_problem(r, 404)
    text = b"Shipping policy\n\nParcels leave the warehouse within 48 hours of the order.\n"
    up = srv.req("POST", 9002, "/documents/upload", body=text,
                 headers={"Content-Type": "text/plain", "X-File-Name": "shipping.txt"})
    doc = assert_json(up, 201)
    coll = _coll(srv)
    src = assert_json(srv.req("POST", P, "/knowledge/ingest", body={"documentId": doc["id"], "collection": coll}),
                      201)
    assert src["documentId"] == doc["id"] and src["source"] == "document:" + doc["id"], src
    j = _query(srv, coll, "When do parcels leave the warehouse?")
    assert "48 hours" in j["passages"][0]["text"], j
    other = srv.tenant_headers("knowledged")
    assert_problem(srv.req("POST", P, "/knowledge/ingest", headers=other, body={"documentId": doc["id"]}), 404)


def test_very_common_terms_are_left_out_of_the_match(srv):
    """docs/knowledge.md "Ranking": terms are matched from the rarest while the chunks they
    are in stay within 4,000; the rarest is always matched. Counts are per tenant and
    collection and go down when a source is deleted."""
    coll = _coll(srv)
    para = "".join("Common line %d.\n\n" % i for i in range(16000))
    big = [_ingest(srv, coll, "Ledger %d" % i, para, chunkSize=200, overlap=0) for i in range(3)]
    n = big[0]["chunks"]
    assert 3 * n > 4000 and 2 * n < 4000, n
    _ingest(srv, coll, "Needle", "The zeppelin entry is common knowledge.")
    j = _query(srv, coll, "common zeppelin")
    assert j["skippedTerms"] == ["common"] and j["passages"][0]["title"] == "Needle", j["skippedTerms"]
    assert _query(srv, coll, "common")["skippedTerms"] == []          # the rarest stays
    # another collection (and tenant) counts its own chunks
    c2 = _coll(srv)
    _ingest(srv, c2, "Small", "A common zeppelin.")
    assert _query(srv, c2, "common zeppelin")["skippedTerms"] == []
    assert srv.req("DELETE", P, "/knowledge/sources/" + big[0]["id"]).status == 204
    j = _query(srv, coll, "common zeppelin")
    assert j["skippedTerms"] == [] and j["passages"][0]["title"] == "Needle", j
    assert len(j["passages"]) == 5 and j["passages"][1]["title"].startswith("Ledger"), j  # "common" matched again


# ---- answers written by an agent (9007) ----

def test_agent_answer_prompt_holds_passages_and_citations_map_back(ai):
    agent = unique_name("kagent")
    assert ai.req("PUT", AI, "/agents/%s/config" % agent, body={"provider": "oa", "model": "cite"}).status in (200, 201)
    coll, ids = _corpus(ai)
    q = "When is payment due?"
    out = _query(ai, coll, q, k=5, agentId=agent)
    passages = out["passages"]
    assert 2 <= len(passages) <= 5 and "Payment is due within 30 days" in passages[0]["text"], passages
    prompt = _stand().prompts("cite")[-1]
    assert "Question: " + q in prompt, prompt
    for i, p in enumerate(passages):
        assert "[%d] %s" % (i + 1, p["title"]) in prompt, (i, prompt)
        assert p["text"] in prompt, (i, prompt)
    assert out["answerProvider"] == "agent" and out["answer"].startswith("Payment is due within 30 days"), out
    assert out["agent"]["id"] == agent and out["agent"]["provider"] == "oa" and out["agent"]["model"] == "cite", out
    assert out["agent"]["passagesGiven"] == len(passages), out
    cits = out["citations"]
    assert [(c["n"], c["passageIndex"]) for c in cits] == [(1, 0), (2, 1)], cits
    for c in cits:
        p = passages[c["passageIndex"]]
        assert c["passageId"] == p["id"] and c["source"] == p["source"] and c["title"] == p["title"], (c, p)
    assert cits[0]["source"] == "billing.md" and cits[0]["sourceId"] == ids["Billing handbook"], cits
    # [9] and [12] name no passage that was given: dropped and reported; "[x]" is no citation
    assert out["droppedCitations"] == [9, 12], out
    # without agentId the extractive local answer stays the default
    local = _query(ai, coll, q, k=5)
    assert local["answerProvider"] == "local" and "agent" not in local and "droppedCitations" not in local, local
    assert local["citations"] and local["citations"][0]["passageIndex"] == 0, local


def test_agent_answer_bad_input_and_failures(ai):
    coll, _ = _corpus(ai)
    before = len(_stand().bodies)
    bad = ai.req("POST", P, "/knowledge/query", body={"question": "payment?", "collection": coll, "agentId": "no/such"})
    assert_problem(bad, 422)
    assert "agentId" in bad.text, bad.text
    missing = ai.req("POST", P, "/knowledge/query",
                     body={"question": "payment?", "collection": coll, "agentId": unique_name("nobody")})
    assert_problem(missing, 422)
    assert "no agent configuration" in missing.json["detail"], missing.json
    # a provider that fails (the stand-in knows no model "gone"): 502 naming the agent
    agent = unique_name("kgone")
    assert ai.req("PUT", AI, "/agents/%s/config" % agent, body={"provider": "oa", "model": "gone"}).status in (200, 201)
    failed = ai.req("POST", P, "/knowledge/query", body={"question": "payment?", "collection": coll, "agentId": agent})
    assert_problem(failed, 502)
    assert agent in failed.json["detail"], failed.json
    assert len(_stand().bodies) == before + 1      # only the failing provider call reached the stand-in
    # a caller without agent:invoke may not have an agent write the answer
    viewer = ai.tenant_headers("default", roles=("viewer",))
    denied = ai.req("POST", P, "/knowledge/query", headers=viewer,
                    body={"question": "payment?", "collection": coll, "agentId": agent})
    assert denied.status in (403,), denied


def test_configured_default_agent_writes_the_answer(aidefault):
    s = aidefault
    assert s.req("PUT", AI, "/agents/kdefault/config", body={"provider": "oa", "model": "cite"}).status in (200, 201)
    coll, _ = _corpus(s)
    out = _query(s, coll, "When is payment due?")
    assert out["answerProvider"] == "agent" and out["agent"]["id"] == "kdefault", out
    assert [c["n"] for c in out["citations"]] == [1, 2] and out["droppedCitations"] == [9, 12], out
    # a query's own agentId wins over the default
    other = unique_name("kother")
    assert s.req("PUT", AI, "/agents/%s/config" % other, body={"provider": "oa", "model": "cite"}).status in (200, 201)
    assert _query(s, coll, "When is payment due?", agentId=other)["agent"]["id"] == other
