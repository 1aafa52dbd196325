// Submits the SAML HTTP-POST form (Bindings §3.5.4); a static file so a strict CSP allows it.
document.getElementById("saml-post").submit();
