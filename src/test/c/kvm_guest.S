# 64 KiB real-mode firmware (started paused with -S, then 'cont'): 500 outs to 0x80,
# a line to COM1 (0x3f8), and an out to isa-debug-exit (0xf4).
.code16
.text
.globl _start
_start:
main:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %ss
    mov $0x7000, %sp
    mov $500, %cx
2:  out %al, $0x80
    loop 2b
    mov $0xf000, %ax
    mov %ax, %ds
    mov $msg, %si
    mov $0x3f8, %dx
3:  lodsb
    test %al, %al
    jz 4f
    out %al, %dx
    jmp 3b
4:  mov $0x10, %al
    out %al, $0xf4
5:  hlt
    jmp 5b
msg: .asciz "tansa kvm ok\n"
. = 0xfff0
reset:
    ljmp $0xf000, $main
. = 0x10000
