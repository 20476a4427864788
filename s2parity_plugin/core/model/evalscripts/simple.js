// The service picks one acquisition per pixel by mosaickingOrder.
function evaluatePixel(s) {
  if (s.dataMask === 1) {
    return { value: [valueOf(s)], scl: [s.SCL] };
  }
  return { value: [{{NODATA}}], scl: [0] };
}
