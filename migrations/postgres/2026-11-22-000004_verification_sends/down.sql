DROP TABLE verification_sends;
