//VERSION=3
// S2 Parity preset "{{QUANTITY}}" ({{UNITS}}), {{MOSAICKING}} mosaicking.
// Outputs: "value" ({{SAMPLE_TYPE}}, no data = {{NODATA_TEXT}}; dataMask is folded into this no-data value),
// "scl" (UINT8, 0 = no data), and userdata.json with the acquisitions the service reports (product ids carry the
// baseline).
function setup() {
  return {
    input: [{ bands: [{{BANDS}}], units: "{{UNITS}}" }],
    output: [
      { id: "value", bands: 1, sampleType: "{{SAMPLE_TYPE}}" },
      { id: "scl", bands: 1, sampleType: "UINT8" }
    ],
    mosaicking: "{{MOSAICKING}}"
  };
}

function valueOf(s) {
  return {{VALUE_EXPR}};
}

{{EVALUATE_PIXEL}}

function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  // With SIMPLE mosaicking the service may pass no per-scene list (then acquisitions is empty and the catalog ids
  // in run.json tell the baselines); use orbits or tiles when present.
  var orbits = [];
  if (scenes && scenes.orbits) {
    orbits = scenes.orbits;
  } else if (scenes && scenes.tiles) {
    orbits = [{ dateFrom: null, tiles: scenes.tiles }];
  }
  outputMetadata.userData = {
    acquisitions: orbits.map(function (orbit) {
      return {
        dateFrom: orbit.dateFrom,
        tiles: (orbit.tiles || []).map(function (t) {
          return { productId: t.productId, date: t.date, cloudCoverage: t.cloudCoverage, dataPath: t.dataPath };
        })
      };
    }),
    normalizationFactor: inputMetadata.normalizationFactor,
    serviceVersion: inputMetadata.serviceVersion
  };
}
