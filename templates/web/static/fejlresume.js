// A form shown again with errors: focus moves to the summary of the errors (web/_form.html.j2),
// which lists each error with a link to its field.
(function () { var box = document.getElementById("fejlresume"); if (box) box.focus(); })();
