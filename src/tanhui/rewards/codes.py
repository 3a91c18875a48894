"""Coupon codes, their QR images, and the check digit of a unified social credit code.

A coupon code is 16 characters of Crockford's base32 from `secrets` (80 random bits): nobody can
guess one, and staff can read it aloud or type it without confusing 0/O or 1/I/L. It is shown in
groups of four; what the counter types or a scanner "types" from the QR image is normalised first.
"""

import io
import secrets

import qrcode
from qrcode.image.pil import PilImage

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def grouped(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise(text: str) -> str | None:
    """The code in `text` (any case, spaces or dashes, O for 0, I or L for 1), or None if it cannot
    be one."""
    code = "".join(text.split()).replace("-", "").upper().translate(_LOOKALIKES)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def qr_png(text: str) -> bytes:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(image_factory=PilImage).save(buffer)
    return buffer.getvalue()


# 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character over the first 17.
LICENCE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LICENCE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def licence_check_char(first17: str) -> str:
    total = sum(LICENCE_ALPHABET.index(c) * w for c, w in zip(first17, LICENCE_WEIGHTS, strict=True))
    return LICENCE_ALPHABET[(31 - total % 31) % 31]


def licence_valid(number: str) -> bool:
    return (len(number) == 18 and all(c in LICENCE_ALPHABET for c in number)
            and licence_check_char(number[:17]) == number[17])
