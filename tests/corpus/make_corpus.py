"""Writes the bad-input corpus: broken files and hostile values, in each feed's own format, into
the feed's folder here. A feed's folder may also hold hand-made files that its parser test reads
(listed in its README.md), which this script leaves alone. The files are committed; this script
says how each was made and rewrites them:

    PYTHONPATH=plugins .venv/bin/python tests/corpus/make_corpus.py

Inputs beyond the limits of htx.limits that are big (a 64 MiB line, a zip bomb) are never
committed: `write_large(folder)` writes them at test time (LARGE names them).
What each file written here must give (a rejection naming the file and the column, or quarantined
rows naming row and field) is in tests/test_faults_files.py, which runs each through the real
pipeline.
Hostile paging of the registry API is no file: the stand-in API plays it (`misbehave`), in
tests/test_faults_registry_pull.py.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from stdnum.vn import mst

from htx.dev.sample.tax_declarations import encode_cp1258

HERE = Path(__file__).resolve().parent

# Values an attacker, a broken export or a careless hand might send.
INJECTION = "Robert'); DROP TABLE core.{table}; --"
QUOTES = 'Hợp tác xã "Ngoặc kép"; có dấu chấm phẩy, và \'nháy đơn\''
CONTROL = "HTX \x01\x07\x1b[31mđỏ\x1b[0m\x7f"
EMOJI = "Hợp tác xã 🌾🐟 Quảng Ninh 👩‍🌾"
LONG = "Đ" * 10_000


def codes(count: int, start: int = 4000) -> list[str]:
    found, prefix = [], start
    while len(found) < count:
        check = mst.calc_check_digit(f"57{prefix:07d}")
        if len(check) == 1:
            found.append(f"57{prefix:07d}{check}")
        prefix += 1
    return found


A, B, C, D, E, F, G = codes(7)


def write(relative: str, data: bytes) -> None:
    path = HERE / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --- feed 2: tax declarations, CSV `;` ----------------------------------------------------

TAX_HEADERS = ["Mã số thuế", "Tên người nộp thuế", "Mẫu tờ khai", "Kỳ tính thuế", "Lần nộp",
               "Ngày nộp", "Doanh thu", "Lợi nhuận trước thuế", "Số thuế phải nộp"]


def tax_row(code=A, name="Hợp tác xã Nông nghiệp Thử", form="01/GTGT", period="09/2024",
            revision="0", filed="15/10/2024", revenue="1.234.567", profit="", tax="12.345"):
    return [code, name, form, period, revision, filed, revenue, profit, tax]


def tax_csv(rows, headers=TAX_HEADERS, delimiter=";") -> str:
    def field(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value
    return "".join(delimiter.join(field(v) for v in row) + "\n" for row in [headers, *rows])


def tax_files() -> None:
    good = [tax_row(A), tax_row(B, period="Q3/2024"), tax_row(C)]
    valid = tax_csv(good)
    write("tax_declarations/truncated.csv",
          valid.encode() + f"{D};Hợp tác xã Cắt Ngang;01/GT".encode())
    write("tax_declarations/truncated_in_quotes.csv",
          valid.encode() + f'{D};"Hợp tác xã Dấu Ngoặc;01/GTGT;09/2024;0'.encode())
    write("tax_declarations/empty.csv", b"")
    write("tax_declarations/header_only.csv", tax_csv([]).encode())
    write("tax_declarations/wrong_delimiter.csv", tax_csv(good, delimiter=",").encode())
    renamed = ["Tổng doanh thu" if h == "Doanh thu" else h for h in TAX_HEADERS]
    write("tax_declarations/column_renamed.csv", tax_csv(good, renamed).encode())
    write("tax_declarations/column_missing.csv",
          tax_csv([r[:-1] for r in good], TAX_HEADERS[:-1]).encode())
    write("tax_declarations/extra_column.csv",
          tax_csv([r + ["ghi chú"] for r in good], TAX_HEADERS + ["Ghi chú"]).encode())
    # Windows-1258 mis-declared: an old export's bytes behind a UTF-8 byte-order mark.
    write("tax_declarations/cp1258_with_utf8_bom.csv", b"\xef\xbb\xbf" + encode_cp1258(valid))
    # UTF-8, but two bytes of the third row's name are not (a bad copy-paste, a cut character).
    raw = valid.encode()
    at = raw.index(C.encode()) + len(C) + 1
    write("tax_declarations/utf8_invalid_bytes.csv", raw[:at] + b"\xff\xfe" + raw[at:])
    write("tax_declarations/nul_byte.csv", valid.replace("Thử", "Th\x00ử", 1).encode())
    write("tax_declarations/duplicate_rows.csv", tax_csv([tax_row(A), tax_row(A), tax_row(B)]).encode())
    write("tax_declarations/out_of_order_revisions.csv", tax_csv([
        tax_row(A, revision="2", filed="20/10/2024", revenue="3.000"),
        tax_row(A, revision="0", filed="10/10/2024", revenue="1.000"),
        tax_row(A, revision="1", filed="15/10/2024", revenue="2.000")]).encode())
    write("tax_declarations/hostile_values.csv", tax_csv([
        tax_row(A, name=INJECTION.format(table="tax_declaration")),        # row 2: loaded
        tax_row(B, name=QUOTES),                                           # 3: loaded
        tax_row(C, name=CONTROL),                                          # 4: loaded
        tax_row(D, name=LONG),                                             # 5: loaded
        tax_row(E, name=EMOJI),                                            # 6: loaded
        tax_row(F, name="Dòng một\nDòng hai\tcó tab"),                     # 7: loaded
        tax_row(A, revenue="1.2.3"),                                       # 8: revenue_vnd
        tax_row(A, filed="31/02/2024"),                                    # 9: filed_on
        tax_row("'; DROP TABLE audit.load_batch; --"),                     # 10: tax_code
        tax_row(A, revenue="9.999.999.999.999.999.999.999"),               # 11: revenue_vnd
        tax_row(A, form="01/GTGT\u202e"),                                  # 12: form_code
        tax_row(A, period="Q3/2024 🙂"),                                   # 13: period_raw
        tax_row(A[:9] + str((int(A[9]) + 1) % 10)),                        # 14: tax_code (MST)
        tax_row(A, revision="-1"),                                         # 15: revision
    ]).encode())


# --- feed 5: annual reports, CSV `,` ------------------------------------------------------

ANNUAL_HEADERS = ["entity_code", "report_year", "members", "workers", "member_workers",
                  "avg_income_per_worker_vnd", "managers", "managers_vocational",
                  "managers_college_plus"]


def annual_row(code=A, year="2023", members="12", workers="20", member_workers="12",
               income="68000000", managers="5", vocational="3", college="1"):
    return [code, year, members, workers, member_workers, income, managers, vocational, college]


def annual_csv(rows, headers=ANNUAL_HEADERS, delimiter=",") -> str:
    return tax_csv(rows, headers, delimiter)


def annual_files() -> None:
    good = [annual_row(A), annual_row(B), annual_row(C)]
    valid = annual_csv(good)
    write("annual_reports/truncated.csv", valid.encode() + f"{D},2023,12".encode())
    write("annual_reports/truncated_in_quotes.csv", valid.encode() + f'{D},"2023,12'.encode())
    write("annual_reports/empty.csv", b"")
    write("annual_reports/header_only.csv", annual_csv([]).encode())
    write("annual_reports/wrong_delimiter.csv", annual_csv(good, delimiter=";").encode())
    renamed = ["lao_dong" if h == "workers" else h for h in ANNUAL_HEADERS]
    write("annual_reports/column_renamed.csv", annual_csv(good, renamed).encode())
    write("annual_reports/column_missing.csv",
          annual_csv([r[:-1] for r in good], ANNUAL_HEADERS[:-1]).encode())
    write("annual_reports/extra_column.csv",
          annual_csv([r + ["x"] for r in good], ANNUAL_HEADERS + ["ghi_chu"]).encode())
    with_name = ANNUAL_HEADERS[:1] + ["ten_htx"] + ANNUAL_HEADERS[1:]
    write("annual_reports/cp1258_with_utf8_bom.csv", b"\xef\xbb\xbf" + encode_cp1258(annual_csv(
        [r[:1] + ["Hợp tác xã Đông Hưng"] + r[1:] for r in good], with_name)))
    raw = valid.encode()
    at = raw.index(C.encode()) + len(C)
    write("annual_reports/utf8_invalid_bytes.csv", raw[:at] + b"\xff" + raw[at:])
    write("annual_reports/duplicate_rows.csv",
          annual_csv([annual_row(E, year="2022"), annual_row(E, year="2022", members="13"),
                      annual_row(B)]).encode())
    write("annual_reports/hostile_values.csv", annual_csv([
        annual_row(A),                                                     # 2: loaded
        annual_row(INJECTION.format(table="annual_report")),               # 3: entity_code
        annual_row(B, members="1.2.3"),                                    # 4: members
        annual_row(C, workers="🙂"),                                       # 5: workers
        annual_row(D, members="99999999999999999999"),                     # 6: members
        annual_row(LONG),                                                  # 7: entity_code
        annual_row(E, year="20 23"),                                       # 8: report_year
        annual_row(F, income="-1"),                                        # 9: avg_income_…
        annual_row(G, member_workers="21"),                                # 10: member_workers
        annual_row(CONTROL),                                               # 11: entity_code
        annual_row(A + "\x00"),                                            # 12: entity_code
    ]).encode())


# --- feed 3: support lending, XLSX ----------------------------------------------------------

LENDING_HEADERS = ["STT", "Mã số HTX", "Tên HTX", "Số hợp đồng", "Ngày giải ngân",
                   "Số tiền giải ngân", "Dư nợ", "Nhóm nợ", "Ngày đến hạn"]


def loan(stt, code=A, name="Hợp tác xã Thử", contract=None, disbursed="15/03/2024", amount=100,
         outstanding=80, group=1, due="15/03/2027"):
    return [stt, code, name, contract or f"{stt:02d}/2024/HĐTD", disbursed, amount, outstanding,
            group, due]


def workbook(details, *, headers=LENDING_HEADERS, sheet="BaoCao", totals=None,
             extra=None) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws["A1"] = "BÁO CÁO CHO VAY HỖ TRỢ PHÁT TRIỂN HỢP TÁC XÃ"
    ws["A2"], ws["A3"] = "Đến ngày 30/09/2024", "Đơn vị: triệu đồng"
    ws["A4"], ws["C4"] = "Tổng nguồn vốn ủy thác:", 40341
    for column, header in enumerate(headers, start=1):
        ws.cell(6, column, header)
    for row in details:
        ws.append(row)
    if totals is None:
        totals = (sum(r[5] for r in details), sum(r[6] for r in details))
    ws.append([None, None, "Tổng cộng", None, None, *totals])
    if extra:
        extra(ws)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def lending_files() -> None:
    good = [loan(1, A), loan(2, B), loan(3, C)]
    valid = workbook(good)
    write("support_lending/zero_bytes.xlsx", b"")
    write("support_lending/truncated.xlsx", valid[:len(valid) // 2])
    write("support_lending/not_xlsx.xlsx", tax_csv([tax_row()]).encode())
    write("support_lending/sheet_renamed.xlsx", workbook(good, sheet="Bao cao T9"))
    renamed = ["Dư nợ cuối kỳ" if h == "Dư nợ" else h for h in LENDING_HEADERS]
    write("support_lending/column_renamed.xlsx", workbook(good, headers=renamed))
    write("support_lending/column_missing.xlsx",
          workbook([r[:-1] for r in good], headers=LENDING_HEADERS[:-1]))
    write("support_lending/extra_column.xlsx",
          workbook([r + ["ghi chú"] for r in good], headers=LENDING_HEADERS + ["Ghi chú"]))
    write("support_lending/totals_mismatch.xlsx", workbook(good, totals=(301, 240)))
    write("support_lending/duplicate_rows.xlsx", workbook([loan(1, A), loan(2, B, contract="01/2024/HĐTD"), loan(3, C)]))
    write("support_lending/hostile_values.xlsx", workbook([
        loan(1, A, name=INJECTION.format(table="lending_contract")),       # row 7: loaded
        loan(2, B, name=QUOTES),                                           # 8: loaded
        loan(3, C, name=LONG),                                             # 9: loaded
        loan(4, D, name=EMOJI, contract="🌾/2024/HĐTD"),                   # 10: loaded
        loan(5, E, disbursed="31/02/2024"),                                # 11: disbursed_on
        loan(6, "1.2.3"),                                                  # 12: htx_code
        loan(7, F, contract="'; DELETE FROM core.lending_contract; --"),   # 13: loaded
        loan(8, G, group=9),                                               # 14: debt_group
    ]))


# --- feed 4: credit fund reports, JSON -------------------------------------------------------

def fund_report(**changes) -> dict:
    report = {
        "fund_code": A, "fund_name": "Quỹ tín dụng nhân dân Thử", "period_end": "2024-09-30",
        "revision": 0, "submitted_at": "2024-10-15T09:30:00+07:00", "unit": "trieu_dong",
        "balance_sheet": {"total_capital": 121000, "equity": 10500, "deposits": 106900.25,
                          "loans_outstanding": 84000, "npl": 1100},
        "members": 1190, "members_pending": 6, "employees": 10,
        "income_ytd": {"revenue": 5400, "revenue_from_members": 4720, "profit": -12.5},
        "dividend_rate_pct": 0.0, "avg_employee_income_month": 16.5}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            report[section] = {**report[section], field: value}
        else:
            report[key] = value
    return report


def dump(document) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def credit_files() -> None:
    valid = dump(fund_report())
    write("credit_fund_reports/empty.json", b"")
    write("credit_fund_reports/truncated.json", valid[:len(valid) // 2])
    write("credit_fund_reports/not_an_object.json", dump([fund_report()]))
    missing = fund_report()
    del missing["balance_sheet"]["npl"]
    write("credit_fund_reports/column_missing.json", dump(missing))
    renamed = fund_report()
    renamed["thanh_vien"] = renamed.pop("members")
    write("credit_fund_reports/column_renamed.json", dump(renamed))
    write("credit_fund_reports/extra_column.json", dump(fund_report(ghi_chu="thêm")))
    write("credit_fund_reports/cp1258_with_utf8_bom.json",
          b"\xef\xbb\xbf" + encode_cp1258(json.dumps(fund_report(), ensure_ascii=False)))
    write("credit_fund_reports/hostile_values.json", dump(fund_report(
        fund_name=INJECTION.format(table="credit_fund_report") + QUOTES + CONTROL + EMOJI + LONG)))
    write("credit_fund_reports/nul_in_text.json", dump(fund_report(fund_name="Quỹ\x00 NUL")))
    text = dump(fund_report(members="1.2.3", period_end="2024-02-31", employees=10**400,
                            balance_sheet__equity="NaN", submitted_at="31/10/2024"))
    write("credit_fund_reports/hostile_numbers.json", text.replace(b'"NaN"', b"NaN"))


# --- feed 1: registration API pages, JSON ----------------------------------------------------

def entity(code=A, **changes) -> dict:
    item = {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử",
            "main_vsic": "0111", "locality": "Hạ Long", "address": "Số 1, phố Thử",
            "registered_on": "2020-01-01", "status": "dang_hoat_dong",
            "status_since": "2020-01-01", "charter_capital_vnd": 1_000_000_000, "members": 10,
            "legal_representative": {"full_name": "Nguyễn Văn A", "id_number": "022090001234"},
            "updated_at": "2024-03-01T10:00:00+07:00"}
    item.update(changes)
    return item


def page(items, token=None) -> bytes:
    return json.dumps({"items": items, "next_page_token": token}, ensure_ascii=False).encode()


def registration_files() -> None:
    valid = page([entity(A), entity(B)])
    write("registrations/empty.json", b"")
    write("registrations/truncated.json", valid[:len(valid) // 2])
    write("registrations/not_a_page.json", json.dumps([entity(A)]).encode())
    write("registrations/cp1258_with_utf8_bom.json",
          b"\xef\xbb\xbf" + encode_cp1258(json.dumps({"items": [entity(A)], "next_page_token": None},
                                                     ensure_ascii=False)))
    write("registrations/duplicate_items.json", page([entity(A), entity(B), entity(A)]))
    write("registrations/out_of_order.json", page([
        entity(G, status="da_giai_the", status_since="2024-02-01",
               updated_at="2024-03-02T10:00:00+07:00"),
        entity(G, updated_at="2024-01-05T10:00:00+07:00")]))
    write("registrations/hostile_values.json", page([
        entity(A, name=INJECTION.format(table="registration_state")),     # 1: loaded
        entity(B, name=QUOTES, address=CONTROL),                          # 2: loaded
        entity(C, name=LONG),                                             # 3: loaded
        entity(D, name=EMOJI),                                            # 4: loaded
        entity(E, name="Hợp tác xã \x00 NUL"),                            # 5: name
        entity(F, members=3_000_000_000),                                 # 6: members
        entity(G, charter_capital_vnd=1e30),                              # 7: charter_capital_vnd
        entity(A, registered_on="2024-02-31",
               updated_at="2024-03-03T10:00:00+07:00"),                   # 8: registered_on
        entity(A, updated_at="hôm qua"),                                  # 9: updated_at
        entity("'; DROP TABLE audit.load_batch; --"),                     # 10: entity_code
        entity(B, entity_type="HTX'; --",
               updated_at="2024-03-04T10:00:00+07:00"),                   # 11: entity_type
        entity(C, main_vsic="01🙂1", updated_at="2024-03-05T10:00:00+07:00"),  # 12: main_vsic
        entity(D, legal_representative="Nguyễn Văn B",
               updated_at="2024-03-06T10:00:00+07:00"),                   # 13: legal_representative
        entity(E, members="1.2.3", updated_at="2024-03-07T10:00:00+07:00"),  # 14: members
        "not an object",                                                  # 15: item
    ]))



# --- feed 6: plan targets, XLSX (delivered as plan_targets/chi_tieu_2025.xlsx) --------------

TARGET_HEADERS = ["STT", "Chỉ tiêu", "Đơn vị tính", "Mã chỉ tiêu", "Phân tổ", "Kế hoạch năm 2025"]


def target(stt, code="HTX_TOTAL", breakdown=None, value=950, name="Tổng số hợp tác xã", unit="HTX"):
    return [stt, name, unit, code, breakdown, value]


def annex(rows, *, headers=TARGET_HEADERS, sheet="ChiTieu", year=2025) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws["A1"] = f"CHỈ TIÊU KẾ HOẠCH PHÁT TRIỂN KINH TẾ TẬP THỂ, HỢP TÁC XÃ NĂM {year}"
    ws["A2"] = "(Kèm theo Kế hoạch số 247/KH-UBND ngày 25/10/2024 của UBND tỉnh Quảng Ninh)"
    for column, header in enumerate(headers, start=1):
        ws.cell(4, column, header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def plan_target_files() -> None:
    good = [["I", "Hợp tác xã", None, None, None, None], target(1), target(2, "HTX_NEW", value=60)]
    valid = annex(good)
    write("plan_targets/zero_bytes.xlsx", b"")
    write("plan_targets/truncated.xlsx", valid[:len(valid) // 2])
    write("plan_targets/not_xlsx.xlsx", tax_csv([tax_row()]).encode())
    write("plan_targets/sheet_renamed.xlsx", annex(good, sheet="Phu bieu 02"))
    renamed = ["Mã số chỉ tiêu" if h == "Mã chỉ tiêu" else h for h in TARGET_HEADERS]
    write("plan_targets/column_renamed.xlsx", annex(good, headers=renamed))
    write("plan_targets/title_year.xlsx", annex(good, year=2024))
    write("plan_targets/sections_only.xlsx", annex(good[:1] + [["II", "Tổ hợp tác"]]))
    write("plan_targets/hostile_values.xlsx", annex([
        target(1, name=INJECTION.format(table="plan_target")),                 # row 5: loaded
        target(2, "HTX_NEW", name=QUOTES, unit="HTX; \\N\\t", value=60),       # 6: loaded
        target(3, "THT_TOTAL", name=LONG, value="1.234"),                      # 7: loaded
        target(4, "LHHTX_TOTAL", name=EMOJI, value="4"),                       # 8: loaded
        target(5, "'; DROP TABLE core.plan_target; --"),                       # 9: indicator_code
        target(6, "HTX_MEMBERS", value="1.2.3"),                               # 10: target
        target(7, "HTX_BY_SECTOR", "sector=nong_nghiep'; --", 600),            # 11: breakdown
        target(8, "HTX_DISSOLVED", value=-5),                                  # 12: target
        target(9, "QTDND_NPL_RATIO", value=101),                               # 13: target
        target(10, "HTX_WORKERS", value=70000), target(11, "HTX_WORKERS", value=71000),  # 14, 15
    ]))


# --- beyond the limits (htx.limits): inputs that crashed a task or ate the worker ------------

MIB = 1 << 20
XFD = 16_384   # Excel's last column


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def limit_files() -> None:
    good = [tax_row(A), tax_row(B, period="Q3/2024"), tax_row(C)]
    write("tax_declarations/cr_line_ends.csv", tax_csv(good).replace("\n", "\r").encode())
    # The issue's 51 KB workbook: a cell at column XFD on each of 10,000 rows (1.2 GiB read
    # through openpyxl, which pads every row to its last cell).
    write("support_lending/cell_at_xfd.xlsx", workbook([loan(1, A), loan(2, B)], extra=lambda ws: [
        ws.cell(row, XFD, "x") for row in range(7, 10_007)]))
    write("support_lending/row_beyond_limit.xlsx", workbook(
        [loan(1, A)], extra=lambda ws: ws.cell(100_001, 3, "ghi chú")))
    # "Billion laughs": entities of entities, a few bytes that expand beyond any memory.
    laughs = b"".join(b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10 if i else b"lol")
                      for i in range(10))
    write("support_lending/doctype_entities.xlsx", with_part(
        workbook([loan(1, A, name="&l9;")]), "xl/worksheets/sheet1.xml",
        lambda xml: b"<!DOCTYPE worksheet [" + laughs + b"]>"
                    + xml.replace(b">&amp;l9;<", b">&l9;<")))
    write("support_lending/zip_sizes_lie.xlsx", sizes_understated(workbook([loan(1, A)])))
    write("credit_fund_reports/nested_50000_deep.json",
          dump(fund_report())[:-1] + b', "ghi_chu": ' + nested(50_000).encode() + b"}")
    write("credit_fund_reports/number_5000_digits.json",
          dump(fund_report()).replace(b'"members": 1190', b'"members": ' + b"9" * 5_000))
    write("registrations/nested_50000_deep.json",
          page([entity(A, ghi_chu=json.loads(nested(10)))]).replace(nested(10).encode(),
                                                                    nested(50_000).encode()))
    write("registrations/number_5000_digits.json",
          page([entity(A)]).replace(b'"members": 10', b'"members": ' + b"9" * 5_000))
    h = codes(8)[-1]   # a cooperative of its own: its states meet no other corpus file's
    write("registrations/updated_at_in_2204.json", page([
        entity(h), entity(h, status="da_giai_the", status_since="2024-03-02",
                          updated_at="2204-03-01T10:00:00+07:00")]))      # 2: updated_at


def with_part(xlsx: bytes, name: str, change) -> bytes:
    """The workbook with one part's bytes changed."""
    source, buffer = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, change(data) if item.filename == name else data)
    return buffer.getvalue()


def sizes_understated(xlsx: bytes) -> bytes:
    """The sheet's declared unzipped size (central directory) cut to 100 bytes: the real
    content is larger than the zip says."""
    data = bytearray(xlsx)
    name = b"xl/worksheets/sheet1.xml"
    at = data.rindex(b"PK\x01\x02", 0, data.rindex(name))   # its central directory entry
    data[at + 24:at + 28] = (100).to_bytes(4, "little")
    return bytes(data)


# Big inputs, written at test time only (name → what writes it into a folder).
CR_ROWS = 8_000       # rows of the ≥ 8 MiB CR-only tax file, each with a 1,000-character name


def write_large(folder: Path) -> dict[str, Path]:
    """Every LARGE input under `folder`; returns name → path."""
    written = {}
    for name, make in LARGE.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            make(out)
        written[name] = path
    return written


def _cr_line_ends_8mib(out) -> None:
    rows = [tax_row(code, name=f"Hợp tác xã {'Đ' * 1000} {i}")
            for i, code in enumerate(codes(CR_ROWS, start=10_000))]
    out.write(tax_csv(rows).replace("\n", "\r").encode())
    assert out.tell() >= 8 * MIB


def _header_field_200kib_8mib(out) -> None:
    out.write(tax_csv([], TAX_HEADERS[:-1] + ["S" * (200 << 10)]).encode())
    row = ";".join(tax_row()) + "\n"
    out.write(row.encode() * (8 * MIB // len(row) + 1))


def _one_line_64mib(out) -> None:
    out.write(b";".join([b"x" * (8 * MIB)] * 8))


def _annual_long_row(out) -> None:
    out.write(annual_csv([annual_row(A), annual_row("9" * (200 << 10))]).encode())


def _annual_over_limit(out) -> None:
    row = ",".join(annual_row()) + "\n"
    out.write(annual_csv([]).encode() + row.encode() * (33 * MIB // len(row)))


ZIP_BOMB_ZEROS = 200 * MIB


def _xlsx_zip_bomb(out) -> None:
    """A valid report beside a 200 MiB part of zeros (about 200 KB zipped)."""
    with zipfile.ZipFile(io.BytesIO(workbook([loan(1, A)]))) as source, zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        with target.open("xl/media/zeros.bin", "w") as zeros:
            for _ in range(ZIP_BOMB_ZEROS // MIB):
                zeros.write(bytes(MIB))


def zip_bomb_unzipped_bytes() -> int:
    """What the zip bomb's parts take unzipped: the report's parts as this machine's openpyxl
    writes them (with lxml installed or not, its XML differs by a few hundred bytes), and the
    zeros."""
    with zipfile.ZipFile(io.BytesIO(workbook([loan(1, A)]))) as source:
        return sum(item.file_size for item in source.infolist()) + ZIP_BOMB_ZEROS


def _xlsx_over_limit(out) -> None:
    import os

    xlsx = workbook([loan(1, A)])
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/media/noise.bin", os.urandom(33 * MIB))   # stored, incompressible


def _json_over_limit(out) -> None:
    out.write(dump(fund_report(fund_name="Q" * (5 * MIB))))


LARGE = {
    "tax_declarations/cr_line_ends_8mib.csv": _cr_line_ends_8mib,
    "tax_declarations/header_field_200kib_8mib.csv": _header_field_200kib_8mib,
    "tax_declarations/one_line_64mib.csv": _one_line_64mib,
    "annual_reports/long_row.csv": _annual_long_row,
    "annual_reports/over_32mib.csv": _annual_over_limit,
    "support_lending/zip_bomb.xlsx": _xlsx_zip_bomb,
    "support_lending/over_32mib.xlsx": _xlsx_over_limit,
    "credit_fund_reports/over_4mib.json": _json_over_limit,
}


# --- one delivery never fails another: tests/test_delivery_isolation.py, tests/test_demo_poisoned.py

# Taxpayer names that the isolation tests forbid, by a CHECK constraint of their own, in staging
# (the COPY fails) or in core (the merge fails): a delivery whose data the warehouse refuses.
REFUSED_IN_STAGING = "Hợp tác xã Bị Từ Chối Khi Nạp"
REFUSED_IN_CORE = "Hợp tác xã Bị Từ Chối Khi Gộp"


def isolation_files() -> None:
    write("isolation/tax_good.csv", tax_csv([tax_row(C), tax_row(D, period="Q3/2024")]).encode())
    write("isolation/tax_version_a.csv",
          tax_csv([tax_row(A, revenue="1.000.000"), tax_row(B, revenue="2.000.000")]).encode())
    write("isolation/tax_version_b.csv",
          tax_csv([tax_row(A, revenue="1.500.000"), tax_row(B, revenue="2.500.000")]).encode())
    write("isolation/tax_refused_in_staging.csv",
          tax_csv([tax_row(E), tax_row(F, name=REFUSED_IN_STAGING)]).encode())
    write("isolation/tax_refused_in_core.csv",
          tax_csv([tax_row(G, name=REFUSED_IN_CORE), tax_row(E)]).encode())
    # A number no integer holds (1e308 members): the parser's Decimal arithmetic raises
    # InvalidOperation, an error no rule foresaw.
    write("isolation/credit_fund_huge_float.json", dump(fund_report(members=1e308)))


if __name__ == "__main__":
    tax_files()
    annual_files()
    lending_files()
    credit_files()
    registration_files()
    plan_target_files()
    limit_files()
    isolation_files()
    print(f"corpus written under {HERE}")
