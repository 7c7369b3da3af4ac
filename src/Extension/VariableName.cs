using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace Ckpt.Extension;

/// <summary>A C# identifier for a checkpoint variable, derived from its path (`./run/step-2000` gives `step_2000`).</summary>
static class VariableName
{
    public const string Fallback = "ckpt";

    public static string FromPath(string path)
    {
        var trimmed = path.TrimEnd('/', '\\');
        var name = System.IO.Path.GetFileName(trimmed);
        if (name.Length == 0 || name is "." or "..") name = System.IO.Path.GetFileName(System.IO.Path.GetFullPath(trimmed).TrimEnd('/', '\\'));
        // Files keep their stem: `variety.pt` gives `variety`; folders keep dots as underscores.
        if (File.Exists(trimmed)) name = System.IO.Path.GetFileNameWithoutExtension(name);
        var sb = new StringBuilder();
        foreach (var c in name)
            sb.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
        var id = sb.ToString().Trim('_');
        if (id.Length == 0) return Fallback;
        if (char.IsDigit(id[0])) id = "_" + id;
        return IsValid(id) ? id : Fallback;
    }

    public static bool IsValid(string name) =>
        SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == Microsoft.CodeAnalysis.CSharp.SyntaxKind.None
        && SyntaxFacts.GetContextualKeywordKind(name) == Microsoft.CodeAnalysis.CSharp.SyntaxKind.None;
}
