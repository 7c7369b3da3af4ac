using System.Net;
using Ckpt.Errors;

namespace Ckpt.Extension;

/// <summary>
/// Text from a checkpoint (tensor names, metadata keys, paths) as HTML: control characters shown as the same escapes
/// an error sentence uses, so a name with a newline reads the same in a table as in the error about it.
/// </summary>
static class HtmlText
{
    public static string Encode(string s) => WebUtility.HtmlEncode(ControlCharacters.Escape(s));
}
