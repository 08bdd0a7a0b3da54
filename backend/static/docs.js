// /docs: start Swagger UI on our OpenAPI document (its address is on this script's tag).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const spec = document.getElementById("docs-script").dataset.spec;
  window.ui = window.SwaggerUIBundle({
    url: spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    validatorUrl: null, // the default validator is a remote service: nothing leaves this origin
  });
});
