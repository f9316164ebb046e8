using System.Text.Json;

namespace Payrail.Api;

/// <summary>What every endpoint checks of the text it will store, log or send on.</summary>
public static class StorableText
{
    /// <summary>
    /// Text we store (PostgreSQL text and jsonb), log and send to the PSP: no lone surrogate (it has no UTF-8 form)
    /// and no control character but tab, line feed and carriage return. PostgreSQL refuses U+0000; the other C0 and
    /// C1 controls (ESC, DEL, CSI...) have no place in a label and can drive the terminal of whoever reads it.
    /// </summary>
    public static bool IsStorable(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsSurrogatePair(text, i))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c) || (char.IsControl(c) && c is not ('\t' or '\n' or '\r'))) return false;
        }
        return true;
    }

    // The JSON reader unescapes lazily: a lone surrogate escape ("\ud800") or bytes that are not UTF-8 throw only
    // when the string is read. Null here means "not text".
    public static string? Read(JsonElement element)
    {
        try { return element.GetString(); }
        catch (InvalidOperationException) { return null; }
    }
}
