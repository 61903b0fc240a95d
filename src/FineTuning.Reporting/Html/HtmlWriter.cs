using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Text;

namespace FineTuning.Reporting.Html;

/// <summary>A small HTML builder that encodes every text it is given.</summary>
internal sealed class HtmlWriter
{
    private readonly StringBuilder _html = new();

    public HtmlWriter Raw(string html)
    {
        _html.Append(html);
        return this;
    }

    public HtmlWriter Element(string tag, string text, string? cssClass = null)
    {
        _html.Append('<').Append(tag);
        if (cssClass is not null) _html.Append(" class=\"").Append(cssClass).Append('"');
        _html.Append('>').Append(Encode(text)).Append("</").Append(tag).Append(">\n");
        return this;
    }

    public HtmlWriter Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, string? cssClass = null)
    {
        _html.Append(cssClass is null ? "<table>" : $"<table class=\"{cssClass}\">").Append("<thead><tr>");
        foreach (string h in header) _html.Append("<th>").Append(Encode(h)).Append("</th>");
        _html.Append("</tr></thead><tbody>\n");
        foreach (IReadOnlyList<string> row in rows)
        {
            _html.Append("<tr>");
            foreach (string cell in row) _html.Append("<td>").Append(Encode(cell)).Append("</td>");
            _html.Append("</tr>\n");
        }
        _html.Append("</tbody></table>\n");
        return this;
    }

    public static string Encode(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A number as a report shows it: up to 6 significant digits, invariant culture, "n/a" when not finite.</summary>
    public static string Number(double value) =>
        double.IsFinite(value) ? value.ToString("G6", CultureInfo.InvariantCulture) : "n/a";

    public override string ToString() => _html.ToString();
}
