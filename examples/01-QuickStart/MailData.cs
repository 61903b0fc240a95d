using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace FineTuning.Examples.QuickStart;

/// <summary>One labelled mail of the committed SpamAssassin subset.</summary>
internal sealed record Mail(string Text, int Label)
{
    public const int Ham = 0, Spam = 1;

    /// <summary>Reads a JSONL file; a bad line stops with its file and line number.</summary>
    public static List<Mail> Read(string path)
    {
        var mails = new List<Mail>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                string text = doc.RootElement.GetProperty("text").GetString() ?? throw new FormatException("\"text\" is null");
                string label = doc.RootElement.GetProperty("label").GetString() ?? "";
                mails.Add(new Mail(text, label switch
                {
                    "spam" => Spam,
                    "ham" => Ham,
                    _ => throw new FormatException($"\"label\" must be \"spam\" or \"ham\", not \"{label}\""),
                }));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: {e.Message}", e);
            }
        }
        return mails;
    }
}
