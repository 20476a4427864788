//VERSION=3
// S2 Parity preset "{{QUANTITY}}" ({{UNITS}}), ORBIT mosaicking.
// Per pixel: the first acquisition (in mosaickingOrder) that has data and an SCL class that is not
// no-data/saturated/dark/shadow/unclassified/cloud/cirrus/snow wins (as in the seed request);
// else the first acquisition with data; else no data.
// Outputs: "value" ({{SAMPLE_TYPE}}, no data = {{NODATA_TEXT}}; dataMask is folded into this no-data value),
// "scl" (UINT8, 0 = no data), and userdata.json with the acquisitions used (product ids carry the baseline).
function setup() {
  return {
    input: [{ bands: [{{BANDS}}], units: "{{UNITS}}" }],
    output: [
      { id: "value", bands: 1, sampleType: "{{SAMPLE_TYPE}}" },
      { id: "scl", bands: 1, sampleType: "UINT8" }
    ],
    mosaicking: "ORBIT"
  };
}

const INVALID_SCL = [0, 1, 2, 3, 7, 8, 9, 10, 11];

function valueOf(s) {
  return {{VALUE_EXPR}};
}

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
