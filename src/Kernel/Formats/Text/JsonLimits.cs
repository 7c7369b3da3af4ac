namespace Ckpt.Formats.Text;

/// <summary>
/// Parses JSON from a file with its depth and size bounded and every string decodable, so that what a reader
/// meets later is data, not an exception. <c>JsonDocument</c> checks escapes only when a string is read:
/// `"\ud800"` (a lone UTF-16 surrogate) parses, then <c>GetString</c> throws InvalidOperationException wherever a
/// reader happens to look. One pass of <see cref="Utf8JsonReader"/> decodes every string and property name first,
/// which costs linear time and gives one typed sentence with the line.
/// </summary>
public static class JsonLimits
{
    /// <summary>Checkpoint JSON (configs, indexes, headers) nests a handful of levels.</summary>
    public const int MaxDepth = 64;
    public const long MaxBytes = 64L << 20;

    public static JsonDocument Parse(string json, string? file, FormatErrorReason reason, int maxDepth = MaxDepth) =>
        Parse(Encoding.UTF8.GetBytes(json), file, reason, maxDepth);

    public static JsonDocument Parse(ReadOnlyMemory<byte> json, string? file, FormatErrorReason reason, int maxDepth = MaxDepth)
    {
        if (json.Length > MaxBytes)
            throw new CheckpointFormatException(reason, file, null, "the JSON text is larger than its format needs",
                expected: $"≤ {MaxBytes} bytes", found: $"{json.Length} bytes");
        // The reader is allowed one level more, so that the depth is reported here, in this file's words.
        var reader = new Utf8JsonReader(json.Span, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is (JsonTokenType.StartArray or JsonTokenType.StartObject) && reader.CurrentDepth >= maxDepth)
                    throw new CheckpointFormatException(reason, file, null, $"the JSON nests deeper than {maxDepth} levels at line {Line(json.Span, reader)}",
                        expected: $"≤ {maxDepth} levels", found: "more");
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    try { reader.GetString(); }
                    catch (InvalidOperationException)
                    {
                        throw new CheckpointFormatException(reason, file, null,
                            $"a JSON string at line {Line(json.Span, reader)} escapes a lone UTF-16 surrogate, which no text can hold",
                            expected: "a \\uD800-\\uDBFF escape followed by a \\uDC00-\\uDFFF one", found: "a lone surrogate");
                    }
                }
            }
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth + 1 });
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // System.Text.Json ends its messages with "LineNumber: n | BytePositionInLine: m."; the line is given here.
            var what = e.Message.Split(" LineNumber:")[0].Split('\n')[0].TrimEnd('.', ' ');
            throw new CheckpointFormatException(reason, file, null, $"the JSON is not valid at line {Line(json.Span, reader)}: {what}", inner: e);
        }
    }

    static int Line(ReadOnlySpan<byte> json, Utf8JsonReader reader) =>
        json[..Math.Min((int)reader.TokenStartIndex, json.Length)].Count((byte)'\n') + 1;
}
