// The dashboard's one script of its own. Everything works without it; it only reads a chosen
// configuration file into the health back-test's text box, so that a file can be uploaded
// without a multipart form.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-into]")) return;
  var target = document.getElementById(input.getAttribute("data-into"));
  var file = input.files && input.files[0];
  if (!target || !file) return;
  file.text().then(function (text) {
    target.value = text;
  });
});
