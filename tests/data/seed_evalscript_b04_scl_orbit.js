//VERSION=3
// The seed request's evalscript (reconstructed from the forum thread that motivated S2 Parity):
// B04 in DN plus SCL, ORBIT mosaicking, first valid acquisition by SCL wins.
function setup() {
  return {
    input: [{ bands: ["B04", "SCL", "dataMask"], units: "DN" }],
    output: [
      { id: "default", bands: 1, sampleType: "UINT16" },
      { id: "scl", bands: 1, sampleType: "UINT8" }
    ],
    mosaicking: "ORBIT"
  };
}

const INVALID_SCL = [1, 2, 3, 7, 8, 9, 10, 11];

function evaluatePixel(samples, scenes) {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.dataMask === 1 && INVALID_SCL.indexOf(s.SCL) === -1) {
      return { default: [s.B04], scl: [s.SCL] };
    }
  }
  if (samples.length > 0 && samples[0].dataMask === 1) {
    return { default: [samples[0].B04], scl: [samples[0].SCL] };
  }
  return { default: [0], scl: [0] };
}

function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {
    acquisitions: scenes.orbits.map(function (orbit) {
      return {
        dateFrom: orbit.dateFrom,
        tiles: orbit.tiles.map(function (t) {
          return { productId: t.productId, date: t.date, cloudCoverage: t.cloudCoverage, dataPath: t.dataPath };
        })
      };
    }),
    normalizationFactor: inputMetadata.normalizationFactor,
    serviceVersion: inputMetadata.serviceVersion
  };
}
