// Renders /openapi.json with Swagger UI (swagger-ui-dist, served by the service: no CDN).
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // why: the validator badge would call an outside service.
  validatorUrl: null,
  onComplete: () => {
    document.body.dataset.ready = 'true';
  },
});
