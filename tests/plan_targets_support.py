"""Target annexes (feed 6) in the contract's layout, written with openpyxl for the tests."""
import io

TITLE = "CHỈ TIÊU KẾ HOẠCH PHÁT TRIỂN KINH TẾ TẬP THỂ, HỢP TÁC XÃ NĂM 2024"
DOCUMENT = "(Kèm theo Kế hoạch số 263/KH-UBND ngày 30/10/2023 của UBND tỉnh Quảng Ninh)"
HEADERS = ["STT", "Chỉ tiêu", "Đơn vị tính", "Mã chỉ tiêu", "Phân tổ", "Kế hoạch năm 2024"]
ROWS = [
    ["I", "Hợp tác xã", None, None, None, None],
    [1, "Tổng số hợp tác xã", "HTX", "HTX_TOTAL", None, 747],
    [2, "Số hợp tác xã thành lập mới", "HTX", "HTX_NEW", "", "55"],
]


def annex_bytes(rows=None, *, title=TITLE, document=DOCUMENT, headers=None, sheet="ChiTieu",
                after=(), year=None) -> bytes:
    """An annex; `year` rewrites the 2024 of the default title and headers."""
    import openpyxl

    headers = HEADERS if headers is None else headers
    if year is not None:
        title = title.replace("2024", str(year))
        headers = [h.replace("2024", str(year)) for h in headers]
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws["A1"], ws["A2"] = title, document
    for column, header in enumerate(headers, start=1):
        ws.cell(4, column, header)
    for row in ROWS if rows is None else rows:
        ws.append(row)
    for row in after:
        ws.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def target_row(code="HTX_TOTAL", breakdown=None, target=747, stt=1):
    return [stt, "Chỉ tiêu", "HTX", code, breakdown, target]
