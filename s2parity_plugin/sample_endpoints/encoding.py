"""Response encoding: GeoTIFF / PNG / JPEG via GDAL (in ``/vsimem/``), JSON, and the multi-part TAR.

GeoTIFFs mimic the real service's files (compare ``process_api_tar_response_S2L1C_20171215_madagascar.tar``):
big-endian ("MM"), DEFLATE (GDAL writes TIFF compression code 8 where the real files carry the legacy code
32946; both are zlib and every reader treats them alike), pixel interleaved, 8-row strips, north-up geotransform
from the request bbox and size, CRS from the request (CRS84 is written as EPSG:4326 with lon/lat axis order, GDAL's
traditional GIS order). The TAR is POSIX ustar, members mode 0100644 and uid/gid 0 (header fields as the real
service writes them), names ``<identifier>.<ext>`` (``default.tif``, ``userdata.json``), in the order of
``output.responses``.
"""

from __future__ import annotations

import io
import tarfile
import threading
import time
import uuid
from collections.abc import Sequence

import numpy as np
from osgeo import gdal, osr

from s2parity_plugin.core.gdal_scope import gdal_exceptions

_GDAL_TYPES = {
    np.dtype(np.uint8): gdal.GDT_Byte,
    np.dtype(np.uint16): gdal.GDT_UInt16,
    np.dtype(np.int16): gdal.GDT_Int16,
    np.dtype(np.int8): gdal.GDT_Byte,  # GDAL < 3.7 has no Int8: signed bytes via GTiff PIXELTYPE=SIGNEDBYTE
    np.dtype(np.float32): gdal.GDT_Float32,
}
EXTENSIONS = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpeg", "application/json": "json"}
_lock = threading.Lock()
DEFAULT_JPEG_QUALITY = 90  # ProcessRequestOutputFormatJpeg.quality default
GDAL_JPEG_MIN_QUALITY = 10  # GDAL's JPEG driver refuses lower values; 0–9 are encoded at 10
MIME_OF_EXTENSION = {v: k for k, v in EXTENSIONS.items()}


def _read_vsimem(path: str) -> bytes:
    f = gdal.VSIFOpenL(path, "rb")
    try:
        gdal.VSIFSeekL(f, 0, 2)
        size = gdal.VSIFTellL(f)
        gdal.VSIFSeekL(f, 0, 0)
        return bytes(gdal.VSIFReadL(1, size, f))
    finally:
        gdal.VSIFCloseL(f)
        gdal.Unlink(path)


def _mem_dataset(data: np.ndarray, geotransform: Sequence[float] | None, srs_wkt: str | None) -> gdal.Dataset:
    bands, height, width = data.shape
    ds = gdal.GetDriverByName("MEM").Create("", width, height, bands, _GDAL_TYPES[data.dtype])
    if geotransform is not None:
        ds.SetGeoTransform(list(geotransform))
    if srs_wkt:
        ds.SetProjection(srs_wkt)
    for i in range(bands):
        ds.GetRasterBand(i + 1).WriteArray(data[i].view(np.uint8) if data.dtype == np.int8 else data[i])
    return ds


@gdal_exceptions()
def encode_image(
    data: np.ndarray,
    mime: str,
    geotransform: Sequence[float] | None = None,
    srs_wkt: str | None = None,
    *,
    nodata: float | None = None,
    quality: int = DEFAULT_JPEG_QUALITY,
) -> bytes:
    """Encode ``data`` (bands, height, width; uint8/uint16/float32) as ``image/tiff``, ``image/png`` or ``image/jpeg``.

    ``nodata``: the evalscript output's ``nodataValue``, written into TIFFs (GDAL_NODATA tag). ``quality``: JPEG
    quality 0–100 (``format.quality``, default 90).

    :raises ValueError: when the format cannot carry the sample type/band count (e.g. JPEG of UINT16).
    """
    if data.dtype not in _GDAL_TYPES:
        raise ValueError(f"unsupported sample type {data.dtype}")
    src = _mem_dataset(data, geotransform, srs_wkt)
    if nodata is not None and mime == "image/tiff":
        for i in range(data.shape[0]):
            src.GetRasterBand(i + 1).SetNoDataValue(float(nodata))
    path = f"/vsimem/s2p_{uuid.uuid4().hex}"
    if mime == "image/tiff":
        opts = ["COMPRESS=DEFLATE", "INTERLEAVE=PIXEL", "BLOCKYSIZE=8", "ENDIANNESS=BIG", "PREDICTOR=1"]
        if data.dtype == np.int8:
            opts.append("PIXELTYPE=SIGNEDBYTE")
        out = gdal.GetDriverByName("GTiff").CreateCopy(path, src, options=opts)
    elif mime == "image/png":
        if data.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"PNG cannot hold {data.dtype} samples; use image/tiff")
        if data.shape[0] not in (1, 2, 3, 4):
            raise ValueError("PNG output needs 1 to 4 bands")
        out = gdal.GetDriverByName("PNG").CreateCopy(path, src, options=["WORLDFILE=NO"])
    elif mime == "image/jpeg":
        if data.dtype != np.uint8:
            raise ValueError("JPEG output needs sampleType UINT8 or AUTO")
        if data.shape[0] not in (1, 3):
            raise ValueError("JPEG output needs 1 or 3 bands")
        out = gdal.GetDriverByName("JPEG").CreateCopy(
            path, src, options=[f"QUALITY={max(GDAL_JPEG_MIN_QUALITY, int(quality))}", "WORLDFILE=NO"]
        )
    else:
        raise ValueError(f"unsupported image format {mime}")
    out.FlushCache()
    out = None
    src = None
    for suffix in (".aux.xml",):
        gdal.Unlink(path + suffix) if gdal.VSIStatL(path + suffix) else None
    return _read_vsimem(path)


def srs_wkt_for(epsg: int | None) -> str | None:
    """WKT of an EPSG code with traditional GIS (x=east/lon, y=north/lat) axis order."""
    if epsg is None:
        return None
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(int(epsg))
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs.ExportToWkt()


def build_tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A POSIX ustar archive of ``(name, content)`` members, like the real multi-response answer.

    Python's tarfile masks the mode to its permission bits; the real archives carry ``0100644`` (regular-file type
    bits included), so the mode field and header checksum are patched after writing.
    """
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = now
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    data = bytearray(buf.getvalue())
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tar:
        offsets = [m.offset for m in tar.getmembers()]
    for off in offsets:
        data[off + 100 : off + 124] = b"0100644 0000000 0000000 "  # mode, uid, gid as the real headers
        data[off + 148 : off + 156] = b" " * 8
        checksum = sum(data[off : off + 512])
        data[off + 148 : off + 156] = b"%06o\x00 " % checksum
    return bytes(data)


def build_multipart(members: Sequence[tuple[str, bytes]], boundary: str | None = None) -> tuple[bytes, str]:
    """A ``multipart/mixed`` body of ``(name, content)`` members (``Accept: multipart/mixed``); returns the body and
    its Content-Type with the boundary. Each part carries its own Content-Type and a Content-Disposition naming the
    response (``name="default"; filename="default.tif"``) — the part headers are ASSUMED (not in the reference)."""
    boundary = boundary or f"s2p{uuid.uuid4().hex}"
    out = io.BytesIO()
    for name, content in members:
        ident, _, ext = name.rpartition(".")
        mime = MIME_OF_EXTENSION.get(ext, "application/octet-stream")
        out.write(f"--{boundary}\r\n".encode())
        out.write(f"Content-Type: {mime}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{ident}"; filename="{name}"\r\n\r\n'.encode())
        out.write(content)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/mixed; boundary={boundary}"
