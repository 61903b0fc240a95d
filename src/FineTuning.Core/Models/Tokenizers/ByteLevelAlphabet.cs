using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// GPT-2's reversible byte-to-character map (<c>bytes_to_unicode</c> in openai/gpt-2 encoder.py): printable
/// Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order, so every byte string is a
/// string of visible characters that BPE can work on.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    /// <summary>The character that stands for byte <paramref name="value"/>.</summary>
    internal static char CharOf(byte value) => ByteToChar[value];

    /// <summary>The mapped characters of the UTF-8 bytes of <paramref name="text"/>.</summary>
    internal static string Encode(ReadOnlySpan<char> text)
    {
        // Pre-tokens are short: encode on the stack, allocating only the result (this is the hot path of encoding).
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> bytes = rented ?? stackalloc byte[512];
        int count = Encoding.UTF8.GetBytes(text, bytes);
        char[]? rentedChars = count > 512 ? ArrayPool<char>.Shared.Rent(count) : null;
        Span<char> chars = (rentedChars ?? stackalloc char[512])[..count];
        for (int i = 0; i < count; i++) chars[i] = ByteToChar[bytes[i]];
        string result = new(chars);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
        return result;
    }

    /// <summary>Appends the bytes of mapped characters; a character outside the map contributes its own UTF-8 bytes (as HF).</summary>
    internal static void AppendBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
        {
            if (CharToByte.TryGetValue(c, out byte b)) bytes.Add(b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (byte)b;
        return map;
    }
}
