using System;
using SkiaSharp;

namespace FineTuning.Reporting.Tests;

/// <summary>Decodes a PNG with SkiaSharp and measures how much is drawn on it.</summary>
internal static class Pixels
{
    public sealed record Stats(int Width, int Height, double LuminanceVariance, double NonWhiteFraction);

    public static Stats Of(byte[] png)
    {
        using SKBitmap bitmap = SKBitmap.Decode(png) ?? throw new InvalidOperationException("not a decodable image");
        double sum = 0, sumSquares = 0;
        long nonWhite = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                double luminance = (0.2126 * c.Red + 0.7152 * c.Green + 0.0722 * c.Blue) / 255.0;
                sum += luminance;
                sumSquares += luminance * luminance;
                if (luminance < 0.95) nonWhite++;
            }
        }
        double n = (double)bitmap.Width * bitmap.Height, mean = sum / n;
        return new Stats(bitmap.Width, bitmap.Height, sumSquares / n - mean * mean, nonWhite / n);
    }
}
