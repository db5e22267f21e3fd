// The handout page's only script, added when the clinician asked to print a copy with a note
// (the form posts print=1). It opens the print dialog once the page, its QR code and styles
// are in, so what prints is the finished page. Nothing is read from or sent anywhere.
window.addEventListener("load", function () { window.print(); }, { once: true });
