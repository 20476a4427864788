// Per pixel: the first acquisition (in mosaickingOrder) that has data and an SCL class that is not
// no-data/saturated/dark/shadow/unclassified/cloud/cirrus/snow wins (as in the seed request);
// else the first acquisition with data; else no data.
const INVALID_SCL = [{{INVALID_SCL}}];

function evaluatePixel(samples, scenes) {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.dataMask === 1 && INVALID_SCL.indexOf(s.SCL) === -1) {
      return { value: [valueOf(s)], scl: [s.SCL] };
    }
  }
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.dataMask === 1) {
      return { value: [valueOf(s)], scl: [s.SCL] };
    }
  }
  return { value: [{{NODATA}}], scl: [0] };
}
