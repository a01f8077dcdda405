/* The portal's maps: MapLibre GL (CSP build, served by the portal), the territory's 22 communes as a
   neutral background (GeoJSON, no tile server), the datasets as the portal's own vector tiles.
   When the map has drawn, #carte says so: data-etat="dessinee", data-elements = features drawn. */
(function () {
  'use strict';
  var el = document.getElementById('carte');
  if (!el || !window.maplibregl) return;
  var lib = window.maplibregl;
  lib.setWorkerUrl('/static/maplibre/maplibre-gl-csp-worker.js');
  el.textContent = '';
  var d = el.dataset;
  var box = d.emprise.split(',').map(Number);
  var couches = d.couches ? d.couches.split(',') : [];
  var dessins = [];
  var style = {
    version: 8,
    sources: { territoire: { type: 'geojson', data: d.contour } },
    layers: [
      { id: 'fond', type: 'background', paint: { 'background-color': '#f3f3ef' } },
      { id: 'communes', type: 'fill', source: 'territoire', paint: { 'fill-color': '#e4e4dc' } },
      { id: 'limites', type: 'line', source: 'territoire', paint: { 'line-color': '#8c8c80', 'line-width': 1 } }
    ]
  };
  if (d.commune) {
    style.layers.push({
      id: 'commune', type: 'fill', source: 'territoire',
      filter: ['==', ['get', 'code'], d.commune],
      paint: { 'fill-color': '#f2c66d', 'fill-opacity': 0.8 }
    });
  }
  var version = d.version ? '?version=' + encodeURIComponent(d.version) : '';
  couches.forEach(function (id) {
    style.sources[id] = {
      type: 'vector', minzoom: 0, maxzoom: 16,
      tiles: [location.origin + '/tiles/' + encodeURIComponent(id) + '/{z}/{x}/{y}.pbf' + version]
    };
    var mine = d.producteur ? ['==', ['get', 'producer'], d.producteur] : true;
    var kinds = [
      ['fill', ['Polygon', 'MultiPolygon'], { 'fill-color': '#1f4e79', 'fill-opacity': 0.35, 'fill-outline-color': '#1f4e79' }],
      ['line', ['LineString', 'MultiLineString'], { 'line-color': '#1f4e79', 'line-width': 2 }],
      ['circle', ['Point', 'MultiPoint'], { 'circle-color': '#1f4e79', 'circle-radius': 4, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 }]
    ];
    kinds.forEach(function (k) {
      var name = id + '-' + k[0];
      dessins.push(name);
      style.layers.push({
        id: name, type: k[0], source: id, 'source-layer': id,
        filter: ['all', ['in', ['geometry-type'], ['literal', k[1]]], mine],
        paint: k[2]
      });
    });
  });
  var map = new lib.Map({
    container: el,
    style: style,
    bounds: [[box[0], box[1]], [box[2], box[3]]],
    fitBoundsOptions: { padding: 24, maxZoom: 15 },
    attributionControl: false,
    cooperativeGestures: false,
    locale: {
      'NavigationControl.ZoomIn': 'Zoomer',
      'NavigationControl.ZoomOut': 'Dézoomer',
      'NavigationControl.ResetBearing': 'Réorienter vers le nord',
      'Map.Title': 'Carte'
    }
  });
  map.addControl(new lib.NavigationControl({ showCompass: false }));
  map.addControl(new lib.AttributionControl({ compact: true, customAttribution: 'Communes : IGN Admin Express, INSEE (Licence Ouverte)' }));
  map.on('error', function (e) {
    el.dataset.etat = 'erreur';
    el.dataset.erreur = (e && e.error && e.error.message) || 'erreur';
  });
  map.on('idle', function () {
    var drawn = dessins.length ? map.queryRenderedFeatures({ layers: dessins }).length : 0;
    el.dataset.elements = String(drawn);
    el.dataset.etat = 'dessinee';
  });
})();
