"""Document Intelligence on 9002 (docs/documents.md): uploads (multipart and raw), text
of every format (plain, Markdown, HTML, JSON, CSV, XML, DOCX and ODT made here with
zipfile, PDF written here by hand and read by pdftotext), content addressing, list and
search, delete; extraction on a small corpus with the expected entities listed (precision
and recall printed, each expected entity found); custom patterns and document types;
tenants; bad input (unsupported type, zip bombs, 0 bytes, oversized, a backtracking
pattern) as problem+json in bounded time, storing nothing; extraction through an agent
(9007) to a JSON Schema against the OpenAI-compatible stand-in this file starts
(oa_stand.py): the prompt holds the schema and the bounded text, the answer is validated
and merged under `ai`, and an answer that is not JSON or does not fit is a 502 naming the
violations, storing nothing."""

import hashlib
import io
import json
import os
import shutil
import time
import urllib.parse
import zipfile

from harness import Server, Skip, assert_json, assert_problem, unique_name, wait_until
from oa_stand import OpenAIStand

P = 9002
AI = 9007
_STAND = []


def _stand():
    if not _STAND:
        _STAND.append(OpenAIStand({
            "docjson": lambda msg: '```json\n{"invoiceNumber": "INV-2024-0042", "total": 1234.5, "currency": "EUR"}\n```',
            "docbad": lambda msg: '{"invoiceNumber": 42, "currency": "GBP"}',
            "docprose": lambda msg: "The invoice number is INV-2024-0042.",
        }))
    return _STAND[0]


FIXTURES = {"ai": lambda: Server(modules="auth,documents,orchestration,eventbus,gateway",
                                 args=["--config", _stand().config("oa")])}

INVOICE = """ACME Widgets GmbH
Hauptstrasse 5, 10115 Berlin
Tel: 030 1234567
E-Mail: billing@acme-widgets.de

INVOICE
Invoice No: INV-2024-0042
Invoice date: 15.03.2024
Due date: 2024-04-14
Order No: PO-77812

Customer: Globex Corporation
VAT ID: DE123456789

Total amount due: EUR 1.234,56

Please pay to IBAN DE89 3704 0044 0532 0130 00, BIC: COBADEFFXXX.
Questions? Call +49 30 1234 5678 or see https://acme-widgets.de/invoices/INV-2024-0042
"""
INVOICE_EXPECTED = {
    ("phone", "0301234567"), ("email", "billing@acme-widgets.de"), ("invoice_number", "INV-2024-0042"),
    ("date", "2024-03-15"), ("date", "2024-04-14"), ("order_number", "PO-77812"), ("vat_id", "DE123456789"),
    ("amount", "1234.56 EUR"), ("iban", "DE89370400440532013000"), ("bic", "COBADEFFXXX"),
    ("phone", "+493012345678"), ("url", "https://acme-widgets.de/invoices/INV-2024-0042"),
}

CONTRACT = """SERVICE AGREEMENT

This Service Agreement (hereinafter the "Agreement") is made on March 1, 2024 between the
parties Initech Ltd (VAT GB123456789) and Hooli Inc.

1. Term. The Agreement starts on 01/04/2024 and ends on 31 December 2025.
2. Fees. Hooli pays $ 12,500.00 per quarter to GB82 WEST 1234 5698 7654 32.
3. Governing law: England. Either party may terminate with 90 days notice.

Contact: legal@initech.example, phone +44 20 7946 0958.
Signature: ____________
"""
CONTRACT_EXPECTED = {
    ("date", "2024-03-01"), ("vat_id", "GB123456789"), ("date", "2024-04-01"), ("date", "2025-12-31"),
    ("amount", "12500.00 USD"), ("iban", "GB82WEST12345698765432"), ("email", "legal@initech.example"),
    ("phone", "+442079460958"),
}

EMAIL = """From: Jane Doe <jane.doe@example.org>
To: orders@acme-widgets.de
Subject: Purchase order 4500012345
Date: 2 Feb 2024

Dear team,

please deliver 20 widgets for order 4500012345 by 2024-02-20. The agreed price is 2.400,00 EUR.
Call me at +1 415 555 0132 if anything is unclear.

Kind regards,
Jane
"""
EMAIL_EXPECTED = {
    ("email", "jane.doe@example.org"), ("email", "orders@acme-widgets.de"), ("order_number", "4500012345"),
    ("date", "2024-02-02"), ("date", "2024-02-20"), ("amount", "2400.00 EUR"), ("phone", "+14155550132"),
}

HTML = """<!DOCTYPE html><html><head><title>Invoice 7</title><style>p { color: red }</style>
<script>var x = "<p>not text</p>";</script></head>
<body><h1>Invoice</h1><p>Invoice No: R&amp;D-7781</p>
<table><tr><td>Total</td><td>&euro;&nbsp;99.50</td></tr></table>
<p>Contact: <a href="mailto:info@shop.example">info@shop.example</a> &mdash; caf&#233; &#x263A;</p>
<!-- a comment with user@hidden.example -->
</body></html>"""

DOCX_PARAGRAPHS = [
    "Rechnung",
    "Invoice No: DX-1001",
    "Date: 05.06.2024",
    "Amount: EUR 450,00",
    "IBAN: DE89 3704 0044 0532 0130 00",
]
DOCX_EXPECTED = {("invoice_number", "DX-1001"), ("date", "2024-06-05"), ("amount", "450.00 EUR"),
                 ("iban", "DE89370400440532013000")}

PDF_LINES = ["Invoice No: PDF-5150", "Date: 2024-07-01", "Total: USD 75.00", "Payment by bank transfer",
             "Mail: pdf@example.com"]
PDF_EXPECTED = {("invoice_number", "PDF-5150"), ("date", "2024-07-01"), ("amount", "75.00 USD"),
                ("email", "pdf@example.com")}


def docx_bytes(paragraphs, table=None):
    body = "".join('<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % p for p in paragraphs)
    if table:
        rows = "".join("<w:tr>%s</w:tr>" % "".join("<w:tc><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:tc>" % c for c in r)
                       for r in table)
        body += "<w:tbl>%s</w:tbl>" % rows
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body>%s</w:body></w:document>' % body)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", doc)
    return buf.getvalue()


def odt_bytes(paragraphs):
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:text>%s'
               '<table:table><table:table-row><table:table-cell><text:p>Net</text:p></table:table-cell>'
               '<table:table-cell><text:p>EUR 10,00</text:p></table:table-cell></table:table-row></table:table>'
               '</office:text></office:body></office:document-content>'
               % "".join("<text:p>%s</text:p>" % p for p in paragraphs))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def pdf_bytes(lines):
    """A minimal one-page PDF with Helvetica text, offsets computed here."""
    ops = ["BT /F1 12 Tf 72 740 Td 16 TL"]
    for ln in lines:
        ops.append("(%s) Tj T*" % ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
    ops.append("ET")
    stream = "\n".join(ops).encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def upload(s, data, ctype, name=None, headers=None, tags=None):
    h = dict(headers or {})
    h["Content-Type"] = ctype
    q = []
    if name:
        q.append("name=" + urllib.parse.quote(name))
    if tags:
        q.append("tags=" + urllib.parse.quote(tags))
    return s.req("POST", P, "/documents/upload" + ("?" + "&".join(q) if q else ""), body=data, headers=h)


def multipart(fields, boundary="----fmtestBOUNDARY"):
    out = bytearray()
    for name, (filename, ctype, data) in fields.items():
        out += b"--" + boundary.encode() + b"\r\n"
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += b"Content-Disposition: " + disp.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + (data if isinstance(data, bytes) else data.encode()) + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary


def text_of(s, doc_id, headers=None):
    r = s.req("GET", P, "/documents/%s/text" % doc_id, headers=headers)
    assert r.status == 200 and r.headers["content-type"].startswith("text/plain"), r
    return r.text


def extract(s, doc_id, headers=None):
    return assert_json(s.req("POST", P, "/documents/%s/extract" % doc_id, headers=headers))


def found(result):
    return {(e["type"], e.get("normalized", e["value"])) for e in result["entities"]}


def test_upload_raw_and_read_back(srv):
    r = upload(srv, INVOICE.encode(), "text/plain", name="invoice-42.txt", tags="finance, 2024")
    d = assert_json(r, 201)
    assert d["id"].startswith("doc_") and r.headers["location"] == "/documents/" + d["id"], (d, r.headers)
    assert d["name"] == "invoice-42.txt" and d["format"] == "text" and d["mediaType"] == "text/plain", d
    assert d["size"] == len(INVOICE.encode()) and d["tags"] == ["finance", "2024"], d
    assert d["sha256"] == hashlib.sha256(INVOICE.encode()).hexdigest(), d
    assert assert_json(srv.get(P, "/documents/" + d["id"])) == d
    c = srv.get(P, "/documents/%s/content" % d["id"])
    assert c.status == 200 and c.body == INVOICE.encode(), c
    assert c.headers["content-type"].startswith("text/plain"), c.headers
    assert text_of(srv, d["id"]) == INVOICE


def test_upload_multipart(srv):
    body, ctype = multipart({"file": ("contract.md", "text/markdown", CONTRACT), "tags": (None, None, "legal"),
                             "name": (None, None, "Service agreement.md")})
    d = assert_json(srv.req("POST", P, "/documents/upload", body=body, headers={"Content-Type": ctype}), 201)
    assert d["name"] == "Service agreement.md" and d["format"] == "markdown" and d["tags"] == ["legal"], d
    assert text_of(srv, d["id"]) == CONTRACT


def test_formats_to_text(srv):
    h = assert_json(upload(srv, HTML.encode(), "text/html; charset=utf-8", name="inv.html"), 201)
    t = text_of(srv, h["id"])
    assert "Invoice No: R&D-7781" in t and "Total | \u20ac 99.50" in t, t
    assert "caf\u00e9 \u263a" in t and "\u2014" in t, t
    assert "not text" not in t and "color" not in t and "hidden.example" not in t and "<" not in t, t

    j = assert_json(upload(srv, json.dumps({"invoice": {"number": "J-1", "lines": [{"qty": 2}]}, "paid": False}),
                           "application/json"), 201)
    assert text_of(srv, j["id"]) == "invoice.number: J-1\ninvoice.lines[0].qty: 2\npaid: false\n"

    c = assert_json(upload(srv, b'name,amount\n"Doe, Jane","1,5"\nRoe,"say ""hi"""\n', "text/csv"), 201)
    assert text_of(srv, c["id"]) == 'name | amount\nDoe, Jane | 1,5\nRoe | say "hi"\n'

    x = assert_json(upload(srv, b"<?xml version='1.0'?><order><id>X-9</id>\n  <to>Bob</to></order>", "text/xml"), 201)
    assert x["format"] == "xml" and text_of(srv, x["id"]) == "X-9\nBob\n"

    d = assert_json(upload(srv, docx_bytes(["Hello", "World"], table=[["Invoice No", "T-1"], ["Total", "EUR 5,00"]]),
                           "application/octet-stream", name="letter.docx"), 201)
    assert d["format"] == "docx", d
    assert text_of(srv, d["id"]) == "Hello\nWorld\nInvoice No | T-1\nTotal | EUR 5,00\n"

    o = assert_json(upload(srv, odt_bytes(["Offer", "Valid until 2024-09-30"]), "application/vnd.oasis.opendocument.text"),
                    201)
    assert o["format"] == "odt" and text_of(srv, o["id"]) == "Offer\nValid until 2024-09-30\nNet | EUR 10,00\n"


def test_pdf_through_pdftotext(srv):
    if not shutil.which("pdftotext"):
        raise Skip("pdftotext (poppler-utils) is not installed")
    d = assert_json(upload(srv, pdf_bytes(PDF_LINES), "application/pdf", name="p.pdf"), 201)
    t = text_of(srv, d["id"])
    for ln in PDF_LINES:
        assert ln in t, (ln, t)


def test_pdf_without_pdftotext_is_415_naming_the_package():
    with Server(env={"FLOWMASTER_DOCUMENTS_PDFTOTEXT": "/nonexistent/pdftotext"}) as s:
        p = assert_problem(upload(s, pdf_bytes(PDF_LINES), "application/pdf"), 415)
        assert "poppler-utils" in p["detail"], p
        assert assert_json(s.get(P, "/documents"))["total"] == 0


def test_content_addressed_and_delete(srv):
    data = ("shared bytes %f" % time.time()).encode()
    a = assert_json(upload(srv, data, "text/plain", name="a.txt"), 201)
    b = assert_json(upload(srv, data, "text/plain", name="b.txt"), 201)
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"], (a, b)
    blob = os.path.join(srv.data_dir, "documents", a["sha256"][:2], a["sha256"])
    assert open(blob, "rb").read() == data
    assert srv.req("DELETE", P, "/documents/" + a["id"]).status == 204
    assert_problem(srv.get(P, "/documents/" + a["id"]), 404)
    assert os.path.exists(blob), "the blob is still held by b"
    assert srv.get(P, "/documents/%s/content" % b["id"]).body == data
    assert srv.req("DELETE", P, "/documents/" + b["id"]).status == 204
    assert not os.path.exists(blob), "the last reference is gone, so is the blob"
    assert_problem(srv.req("DELETE", P, "/documents/" + b["id"]), 404)


def test_list_paged_and_searched(srv):
    h = srv.tenant_headers("doclist")
    ids = []
    for i in range(5):
        ids.append(assert_json(upload(srv, ("doc %d" % i).encode(), "text/plain", name="Report-%d.txt" % i,
                                      headers=h, tags="q%d" % (i % 2)), 201)["id"])
    assert_json(upload(srv, b"<p>x</p>", "text/html", name="page.html", headers=h), 201)
    page = assert_json(srv.get(P, "/documents?limit=4", headers=h))
    assert page["total"] == 6 and len(page["items"]) == 4 and page["nextCursor"], page
    rest = assert_json(srv.get(P, "/documents?limit=4&cursor=" + page["nextCursor"], headers=h))
    assert len(rest["items"]) == 2 and rest["nextCursor"] is None, rest
    assert assert_json(srv.get(P, "/documents?q=report", headers=h))["total"] == 5
    assert assert_json(srv.get(P, "/documents?q=REPORT-3", headers=h))["items"][0]["id"] == ids[3]
    assert assert_json(srv.get(P, "/documents?type=html", headers=h))["total"] == 1
    assert assert_json(srv.get(P, "/documents?type=text/plain", headers=h))["total"] == 5
    assert assert_json(srv.get(P, "/documents?tag=q1", headers=h))["total"] == 2
    assert assert_json(srv.get(P, "/documents?q=%25", headers=h))["total"] == 0


def _score(name, result, expected):
    got = found(result)
    tp = len(got & expected)
    precision = tp / len(got) if got else 1.0
    recall = tp / len(expected)
    print("  %-8s precision %.2f recall %.2f (%d found, %d expected, %d extra: %s)"
          % (name, precision, recall, len(got), len(expected), len(got - expected), sorted(got - expected)))
    missing = expected - got
    assert not missing, "%s: expected entities not found: %s (got %s)" % (name, sorted(missing), sorted(got))
    return tp, len(got), len(expected)


def test_extraction_corpus_precision_recall(srv):
    corpus = [("invoice", INVOICE.encode(), "text/plain", INVOICE_EXPECTED, "invoice"),
              ("contract", CONTRACT.encode(), "text/markdown", CONTRACT_EXPECTED, "contract"),
              ("email", EMAIL.encode(), "text/plain", EMAIL_EXPECTED, "email"),
              ("docx", docx_bytes(DOCX_PARAGRAPHS), DOCX_MEDIA, DOCX_EXPECTED, "invoice")]
    if shutil.which("pdftotext"):
        corpus.append(("pdf", pdf_bytes(PDF_LINES), "application/pdf", PDF_EXPECTED, "invoice"))
    tp = got = exp = 0
    for name, data, ctype, expected, dtype in corpus:
        d = assert_json(upload(srv, data, ctype, name=name), 201)
        res = extract(srv, d["id"])
        a, b, c = _score(name, res, expected)
        tp, got, exp = tp + a, got + b, exp + c
        assert res["classification"]["type"] == dtype, (name, res["classification"])
        text = text_of(srv, d["id"])
        for e in res["entities"]:
            assert text.encode()[e["start"]:e["end"]].decode() == e["value"], e
            assert e["value"] in e["context"] and 0 < e["confidence"] <= 1, e
        meta = assert_json(srv.get(P, "/documents/" + d["id"]))
        assert meta["documentType"] == dtype and meta["extractedAt"], meta
    print("  overall precision %.2f recall %.2f" % (tp / got, tp / exp))


DOCX_MEDIA = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_key_values_and_iban_check(srv):
    text = "Invoice No: 123\nCustomer Name: Jane Roe\nLink: https://x.example/a\nBad IBAN DE89 3704 0044 0532 0130 01\n"
    d = assert_json(upload(srv, text.encode(), "text/plain"), 201)
    res = extract(srv, d["id"])
    kv = {(k["key"], k["value"]) for k in res["keyValues"]}
    assert ("Invoice No", "123") in kv and ("Customer Name", "Jane Roe") in kv, kv
    assert ("Link", "https://x.example/a") in kv, kv
    k = next(k for k in res["keyValues"] if k["key"] == "Invoice No")
    assert text[k["valueStart"]:].startswith("123") and k["confidence"] > 0, k
    assert not [e for e in res["entities"] if e["type"] == "iban"], "a wrong check digit is no IBAN"


def test_custom_patterns_and_types_per_tenant(srv):
    h = srv.tenant_headers("docpat")
    other = srv.tenant_headers("docpat2")
    p = assert_json(srv.req("POST", P, "/documents/patterns", headers=h,
                            body={"name": "ticket", "pattern": r"\bTCK-(\d{5})\b", "confidence": 0.7}), 201)
    assert p["name"] == "ticket" and p["confidence"] == 0.7, p
    assert_problem(srv.req("POST", P, "/documents/patterns", headers=h, body={"name": "ticket", "pattern": "x"}), 409)
    t = assert_json(srv.req("POST", P, "/documents/types", headers=h, body={
        "name": "support-ticket", "threshold": 0.5,
        "rules": [{"keyword": "ticket", "weight": 2}, {"pattern": r"TCK-\d+", "weight": 3}, {"keyword": "refund"}]}), 201)
    assert t["name"] == "support-ticket" and len(t["rules"]) == 3, t
    body = b"Ticket TCK-00042 opened; see also TCK-00043.\n"
    d = assert_json(upload(srv, body, "text/plain", headers=h), 201)
    res = extract(srv, d["id"], headers=h)
    custom = [(e["type"], e["value"], e["confidence"]) for e in res["entities"] if e.get("custom")]
    assert custom == [("ticket", "00042", 0.7), ("ticket", "00043", 0.7)], res["entities"]
    assert res["classification"]["type"] == "support-ticket" and res["classification"]["score"] == 0.833, res
    # the other tenant sees neither the pattern, the type nor the document
    assert assert_json(srv.get(P, "/documents/patterns", headers=other))["items"] == []
    assert assert_json(srv.get(P, "/documents/types", headers=other))["items"] == []
    d2 = assert_json(upload(srv, body, "text/plain", headers=other), 201)
    res2 = extract(srv, d2["id"], headers=other)
    assert not [e for e in res2["entities"] if e.get("custom")] and res2["classification"]["type"] is None, res2
    assert srv.req("DELETE", P, "/documents/patterns/" + p["id"], headers=other).status == 404
    assert srv.req("DELETE", P, "/documents/patterns/" + p["id"], headers=h).status == 204


def test_tenant_isolation(srv):
    a = srv.tenant_headers("docta")
    b = srv.tenant_headers("doctb")
    d = assert_json(upload(srv, b"secret of a", "text/plain", headers=a), 201)
    for path in ("", "/content", "/text"):
        assert_problem(srv.get(P, "/documents/%s%s" % (d["id"], path), headers=b), 404)
    assert_problem(srv.req("POST", P, "/documents/%s/extract" % d["id"], headers=b), 404)
    assert_problem(srv.req("DELETE", P, "/documents/" + d["id"], headers=b), 404)
    assert assert_json(srv.get(P, "/documents", headers=b))["total"] == 0
    assert text_of(srv, d["id"], headers=a) == "secret of a"


def _bounded(fn, seconds=5.0):
    t0 = time.time()
    r = fn()
    assert time.time() - t0 < seconds, "took %.1f s" % (time.time() - t0)
    return r


def test_bad_input_problem_json_and_nothing_stored(srv):
    h = srv.tenant_headers("docbad")
    p = assert_problem(upload(srv, b"\x89PNG\r\n\x1a\n....", "image/png", headers=h), 415)
    assert "application/pdf" in p["accepted"] and "image/png" in p["detail"], p
    assert_problem(upload(srv, b"GIF89a....", "application/octet-stream", headers=h), 415)
    p = assert_problem(upload(srv, b"", "text/plain", headers=h), 422, title="Empty Document")
    assert "0 bytes" in p["detail"], p
    # zip bombs: one entry inflating far past the cap, and a ratio bomb under the cap
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<w:document>" + b"\0" * (80 << 20) + b"</w:document>")
    p = assert_problem(_bounded(lambda: upload(srv, bomb.getvalue(), DOCX_MEDIA, headers=h)), 422,
                       title="Unreadable Document")
    assert "zip bomb" in p["detail"], p
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:
        for i in range(10001):
            z.writestr("f%d" % i, b"")
        z.writestr("word/document.xml", b"<w:document/>")
    p = assert_problem(_bounded(lambda: upload(srv, many.getvalue(), DOCX_MEDIA, headers=h)), 422,
                       title="Unreadable Document")
    assert "10000 entries" in p["detail"], p
    p = assert_problem(upload(srv, b"PK\x03\x04 not really a zip", DOCX_MEDIA, headers=h), 422,
                       title="Unreadable Document")
    p = assert_problem(upload(srv, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
                              "application/xml", headers=h), 422, title="Unreadable Document")
    assert "entities" in p["detail"], p
    assert_problem(upload(srv, b"<a><b></a>", "application/xml", headers=h), 422, title="Unreadable Document")
    assert_problem(upload(srv, b"caf\xe9", "text/plain", headers=h), 422, title="Unreadable Document")
    assert_problem(upload(srv, b"{\"a\": ", "application/json", headers=h), 422, title="Unreadable Document")
    # a catastrophic-backtracking pattern: refused at create, in bounded time
    p = assert_problem(_bounded(lambda: srv.req("POST", P, "/documents/patterns", headers=h,
                                                body={"name": "evil", "pattern": "(a+)+$"})), 422,
                       title="Pattern Limit Reached")
    assert "backtracking" in p["detail"], p
    p = assert_problem(srv.req("POST", P, "/documents/patterns", headers=h, body={"name": "broken", "pattern": "(a"}),
                       422)
    assert p["errors"][0]["pointer"] == "/pattern", p
    assert_problem(srv.req("POST", P, "/documents/types", headers=h, body={"name": "t", "rules": [{"weight": 1}]}), 422)
    assert assert_json(srv.get(P, "/documents", headers=h))["total"] == 0
    assert assert_json(srv.get(P, "/documents/patterns", headers=h))["items"] == []


def test_backtracking_pattern_at_extraction_is_bounded(srv):
    """A pattern that passes the probes but explodes on the document's text: 422 naming it."""
    h = srv.tenant_headers("docbt")
    assert_json(srv.req("POST", P, "/documents/patterns", headers=h,
                        body={"name": "slow", "pattern": r"(x+x+)+[yz]"}), 201)
    d = assert_json(upload(srv, b"x" * 5000, "text/plain", headers=h), 201)
    p = assert_problem(_bounded(lambda: srv.req("POST", P, "/documents/%s/extract" % d["id"], headers=h)), 422,
                       title="Pattern Limit Reached")
    assert "slow" in p["detail"], p


def test_oversized_upload_is_413():
    with Server(env={"FLOWMASTER_DOCUMENTS_MAX_UPLOAD_MB": "1"}) as s:
        p = assert_problem(upload(s, b"a" * ((1 << 20) + 1), "text/plain"), 413)
        assert p["limit"] == 1 << 20, p
        assert assert_json(upload(s, b"a" * (1 << 20), "text/plain"), 201)["size"] == 1 << 20
        # other routes keep server.body_limit (1 MiB by default)
        assert assert_json(s.get(P, "/documents"))["total"] == 1


def test_upload_larger_than_body_limit(srv):
    data = (INVOICE * 3000).encode()
    assert len(data) > 1 << 20
    d = assert_json(upload(srv, data, "text/plain"), 201)
    assert d["size"] == len(data)


def test_events_published(srv):
    h = srv.tenant_headers("docev")
    d = assert_json(upload(srv, INVOICE.encode(), "text/plain", headers=h), 201)
    extract(srv, d["id"], headers=h)

    def seen():
        r = srv.get(9013, "/events/replay?types=document.>&subject=%s&limit=10" % d["id"], headers=h)
        items = r.json["items"] if r.status == 200 else []
        return {e["type"] for e in items} >= {"document.uploaded", "document.extracted"} and items
    items = wait_until(seen, what="document events")
    up = next(e for e in items if e["type"] == "document.uploaded")
    assert up["data"]["sha256"] == d["sha256"] and up["tenantid"] == "docev", up
    ex = next(e for e in items if e["type"] == "document.extracted")
    assert ex["data"]["documentType"] == "invoice" and ex["data"]["stats"]["entities"] > 5, ex


# ---- extraction through an agent (9007) ----

SCHEMA = {"type": "object", "required": ["invoiceNumber", "total"], "additionalProperties": False,
          "properties": {"invoiceNumber": {"type": "string", "pattern": "^INV-"},
                         "total": {"type": "number", "minimum": 0},
                         "currency": {"type": "string", "enum": ["EUR", "USD"]}}}


def _agent(s, model):
    agent = unique_name("dagent")
    assert s.req("PUT", AI, "/agents/%s/config" % agent, body={"provider": "oa", "model": model}).status in (200, 201)
    return agent


def test_agent_extraction_to_a_schema(ai):
    agent = _agent(ai, "docjson")
    d = assert_json(upload(ai, INVOICE.encode(), "text/plain", name="inv.txt"), 201)
    res = assert_json(ai.req("POST", P, "/documents/%s/extract" % d["id"], body={"agentId": agent, "schema": SCHEMA}))
    a = res["ai"]
    assert a["result"] == {"invoiceNumber": "INV-2024-0042", "total": 1234.5, "currency": "EUR"}, a
    assert a["agentId"] == agent and a["provider"] == "oa" and a["model"] == "docjson", a
    assert a["textTruncated"] is False and a["textBytes"] == len(INVOICE.encode()), a
    assert ("email", "billing@acme-widgets.de") in found(res), "the pattern extraction still runs"
    prompt = _stand().prompts("docjson")[-1]
    assert "Invoice No: INV-2024-0042" in prompt and '"invoiceNumber"' in prompt and '"required"' in prompt, prompt
    meta = assert_json(ai.get(P, "/documents/" + d["id"]))
    assert meta["extractedAt"] is not None, meta

    def extracted():
        r = ai.get(9013, "/events/replay?types=document.extracted&subject=%s&limit=10" % d["id"])
        return r.status == 200 and r.json["items"]
    ev = wait_until(extracted, what="document.extracted")[0]
    assert ev["data"]["agentId"] == agent and ev["data"]["documentType"] == "invoice", ev
    # the text in the prompt is bounded: a long document goes in cut, and says so
    long_text = INVOICE + ("filler line of the appendix\n" * 2000) + "THE-VERY-END"
    big = assert_json(upload(ai, long_text.encode(), "text/plain", name="long.txt"), 201)
    res = assert_json(ai.req("POST", P, "/documents/%s/extract" % big["id"],
                             body={"agentId": agent, "schema": SCHEMA}))
    assert res["ai"]["textTruncated"] is True and res["ai"]["textBytes"] <= 24000, res["ai"]
    prompt = _stand().prompts("docjson")[-1]
    assert "Invoice No: INV-2024-0042" in prompt and "THE-VERY-END" not in prompt and len(prompt) < 26000
    # without a body the extraction is the pattern one only
    assert "ai" not in extract(ai, d["id"])


def test_agent_extraction_answers_that_do_not_fit_are_502(ai):
    d = assert_json(upload(ai, INVOICE.encode(), "text/plain", name="inv2.txt"), 201)
    path = "/documents/%s/extract" % d["id"]
    bad = ai.req("POST", P, path, body={"agentId": _agent(ai, "docbad"), "schema": SCHEMA})
    assert_problem(bad, 502)
    pointers = {v["pointer"] for v in bad.json["violations"]}
    assert "/invoiceNumber" in pointers and "/currency" in pointers, bad.json
    assert any("total" in v["pointer"] + v["detail"] for v in bad.json["violations"]), bad.json
    assert "does not fit the schema" in bad.json["detail"] and "/invoiceNumber" in bad.json["detail"], bad.json
    prose = ai.req("POST", P, path, body={"agentId": _agent(ai, "docprose"), "schema": SCHEMA})
    assert_problem(prose, 502)
    assert "JSON" in prose.json["detail"] and prose.json["output"].startswith("The invoice number"), prose.json
    # nothing of a failed extraction is kept
    assert assert_json(ai.get(P, "/documents/" + d["id"]))["extractedAt"] is None


def test_agent_extraction_bad_input(ai):
    d = assert_json(upload(ai, INVOICE.encode(), "text/plain", name="inv3.txt"), 201)
    path = "/documents/%s/extract" % d["id"]
    agent = _agent(ai, "docjson")
    before = len(_stand().bodies)
    for body, field in [({"agentId": agent}, "schema"), ({"schema": SCHEMA}, "agentId"),
                        ({"agentId": "bad/id", "schema": SCHEMA}, "agentId"),
                        ({"agentId": agent, "schema": {"type": 5}}, "schema"),
                        ({"agentId": agent, "schema": "object"}, "schema"),
                        ({"agentId": agent, "schema": SCHEMA, "model": "x"}, "model"),
                        ({"agentId": unique_name("nobody"), "schema": SCHEMA}, "agentId")]:
        r = ai.req("POST", P, path, body=body)
        assert_problem(r, 422)
        assert field in r.text, (body, r.text)
    assert_problem(ai.req("POST", P, path, body=[1]), 422)
    assert_problem(ai.req("POST", P, path, body="{not json"), 400)
    assert len(_stand().bodies) == before, "bad input never reaches a provider"
    assert assert_json(ai.get(P, "/documents/" + d["id"]))["extractedAt"] is None
